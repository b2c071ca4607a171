from __future__ import annotations

import pytest

from edge.config import BreakerConfig
from edge.enrich.breaker import Breaker
from tests.enrich._support import FakeClock

CFG = BreakerConfig(failures=3, window_s=10, open_s=5)


def make() -> tuple[Breaker, FakeClock, list[str]]:
    clock = FakeClock()
    changes: list[str] = []
    return Breaker(CFG, clock=clock, on_change=changes.append), clock, changes


@pytest.mark.parametrize(
    "gaps, state",
    [
        ((0, 0, 0), "open"),  # 3 failures at once
        ((0, 4, 4), "open"),  # 3 within 10 s
        ((0, 6, 6), "closed"),  # the first one left the window
        ((0, 0), "closed"),  # below the threshold
    ],
)
def test_failures_within_the_window_open_it(gaps: tuple[int, ...], state: str) -> None:
    b, clock, _ = make()
    for gap in gaps:
        clock.advance(gap)
        b.failure()
    assert b.state == state
    assert b.allow() is (state == "closed")


def test_half_open_lets_exactly_one_probe_through_then_closes_on_success() -> None:
    b, clock, changes = make()
    for _ in range(3):
        b.failure()
    clock.advance(4.9)
    assert b.state == "open" and not b.allow()
    clock.advance(0.1)
    assert str(b.state) == "half_open"
    assert b.allow() is True
    assert b.allow() is False  # only one probe
    b.success()
    assert str(b.state) == "closed" and b.allow()
    assert changes == ["open", "half_open", "closed"]


def test_a_failed_probe_reopens_for_the_full_period() -> None:
    b, clock, changes = make()
    for _ in range(3):
        b.failure()
    clock.advance(5)
    assert b.allow()
    b.failure()
    assert b.state == "open"
    clock.advance(4.9)
    assert not b.allow()
    clock.advance(0.1)
    assert b.allow()
    assert changes == ["open", "half_open", "open", "half_open"]


def test_recovered_breaker_starts_counting_afresh() -> None:
    b, clock, _ = make()
    for _ in range(3):
        b.failure()
    clock.advance(5)
    b.allow()
    b.success()
    b.failure()
    b.failure()
    assert b.state == "closed"


def test_abandoned_probe_frees_the_slot() -> None:
    b, clock, _ = make()
    for _ in range(3):
        b.failure()
    clock.advance(5)
    assert b.allow() and not b.allow()
    b.abandon()
    assert b.allow()


def test_a_late_success_while_open_does_not_close_it() -> None:
    b, _, _ = make()
    for _ in range(3):
        b.failure()
    b.success()
    assert b.state == "open"
