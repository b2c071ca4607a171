import datetime as dt

import pytest

from edge.rules import day_number, expires_at

HOUR = 3600


def ts(hour: int, minute: int = 0) -> int:
    when = dt.datetime(2024, 3, 10, hour, minute, tzinfo=dt.UTC)
    return int(when.timestamp())


@pytest.mark.parametrize(
    ("realized", "ttl_days", "hours"),
    [
        (ts(1), 1, 47),
        (ts(23), 1, 25),
        (ts(0), 1, 48),
        (ts(12, 30), 1, 36),
        (ts(1), 2, 48),
        (ts(23), 120, 120 * 24),
        (ts(5), 30, 30 * 24),
    ],
)
def test_expires_at(realized, ttl_days, hours):
    assert expires_at(realized, ttl_days) == realized + hours * HOUR


def test_zero_ttl_never_expires():
    assert expires_at(ts(3), 0) is None


def test_negative_ttl_is_rejected():
    with pytest.raises(ValueError, match="ttl_days"):
        expires_at(ts(3), -1)


@pytest.mark.parametrize(
    ("when", "day"),
    [
        (0, 0),
        (86_399, 0),
        (86_400, 1),
        (ts(0), 19_792),
        (ts(23, 59), 19_792),
        (3001 * 86_400 + 5, 3001),
    ],
)
def test_day_number(when, day):
    assert day_number(when) == day
