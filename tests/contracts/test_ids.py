"""Visitor ids (38 digits) and transaction ids (12 base64 characters)."""

from __future__ import annotations

import pytest

from edge.contracts import ids


def test_new_uuids_are_38_digits_without_leading_zero() -> None:
    made = {ids.new_uuid() for _ in range(200)}
    assert len(made) == 200
    for u in made:
        assert ids.is_uuid(u) and len(u) == ids.UUID_DIGITS and u[0] != "0"
        assert str(int(u)) == u  # survives a numeric round trip


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("12345678901234567890123456789012345678", True),
        ("00000000000000000000000000000000000000", True),
        ("1234567890123456789012345678901234567", False),  # 37
        ("123456789012345678901234567890123456789", False),  # 39
        ("1234567890123456789012345678901234567a", False),
        (" 2345678901234567890123456789012345678", False),
        ("12345678901234567890123456789012345678\n", False),
        ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨", False),  # non-ASCII digits
        ("", False),
        (None, False),
    ],
)
def test_is_uuid(value: str | None, ok: bool) -> None:
    assert ids.is_uuid(value) is ok


def test_new_tids_are_12_chars() -> None:
    made = {ids.new_tid() for _ in range(200)}
    assert len(made) == 200
    assert all(len(t) == 12 and ids.is_tid(t) for t in made)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("31ZpxW5bQGc=", True),
        ("ss3OTqPiQp0=", True),
        ("a+b/cdefghi=", True),
        ("31ZpxW5bQGc", False),
        ("31ZpxW5bQGcd", False),
        ("31ZpxW5bQG-=", False),  # URL-safe alphabet is not the tid's
        ("31ZpxW5bQGc==", False),
        ("", False),
    ],
)
def test_is_tid(value: str, ok: bool) -> None:
    assert ids.is_tid(value) is ok
