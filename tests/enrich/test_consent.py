"""The edge's consent decision per provider (edge.enrich.consent)."""

from __future__ import annotations

import pytest

from edge.contracts.tcf import TCString, encode
from edge.enrich.consent import allowed, fingerprint, parse_or_none
from tests.enrich._support import provider

CONSENTED = encode(TCString(purposes_consent=frozenset({1, 3}), vendor_consents=frozenset({565})))
NO_VENDOR = encode(TCString(purposes_consent=frozenset({1, 3}), vendor_consents=frozenset({7})))
NO_PURPOSE = encode(TCString(purposes_consent=frozenset({1}), vendor_consents=frozenset({565})))


@pytest.mark.parametrize(
    "vendor, purposes, gdpr, text, expected",
    [
        (565, (1, 3), None, None, True),  # GDPR does not apply
        (565, (1, 3), 0, None, True),
        (565, (1, 3), 0, "garbage", True),
        (565, (1, 3), 1, CONSENTED, True),
        (565, (1, 3), 1, None, False),  # no string
        (565, (1, 3), 1, "garbage", False),  # malformed string
        (565, (1, 3), 1, NO_VENDOR, False),
        (565, (1, 3), 1, NO_PURPOSE, False),
        (None, (1, 3), 1, NO_VENDOR, True),  # no vendor required
        (None, (), 1, NO_VENDOR, True),
        (565, (), 1, NO_PURPOSE, True),  # purposes not required
        (None, (), 1, None, False),  # GDPR applies: a string is always needed
    ],
)
def test_allowed(
    vendor: int | None, purposes: tuple[int, ...], gdpr: int | None, text: str | None,
    expected: bool,
) -> None:
    p = provider("p", 1, tcf_vendor=vendor, tcf_purposes=purposes)
    assert allowed(p, gdpr, parse_or_none(text)) is expected


def test_fingerprint_changes_with_every_consent_input() -> None:
    prints = {
        fingerprint(None, None),
        fingerprint(0, None),
        fingerprint(1, None),
        fingerprint(1, CONSENTED),
        fingerprint(1, NO_VENDOR),
    }
    assert len(prints) == 5
    assert fingerprint(1, CONSENTED) == fingerprint(1, CONSENTED)
    assert CONSENTED not in fingerprint(1, CONSENTED)


@pytest.mark.parametrize("text", ["", "!!!", "CPXxRfAP", None])
def test_missing_or_malformed_strings_are_no_consent(text: str | None) -> None:
    assert parse_or_none(text) is None
