"""The DCS consent decision and its codes (the parser is tested in tests/contracts)."""

from __future__ import annotations

import pytest

from edge.dcs import errors as E
from edge.dcs.consent import decide
from tests.dcs.helpers import tc_string

PURPOSES = (1, 10)
VENDOR = 565


@pytest.mark.parametrize(
    ("gdpr", "consent", "allowed", "code"),
    [
        (None, None, True, None),
        (0, None, True, None),
        (1, None, False, E.NO_CONSENT),
        (1, "garbage!", False, E.NO_CONSENT),
        (1, tc_string(), True, None),
        (1, tc_string(ranges=True), True, None),
        (1, tc_string(purposes={1}), False, E.NO_CONSENT),
        (1, tc_string(purposes={10}), False, E.NO_CONSENT),
        (1, tc_string(vendors={1, 2}), False, E.NO_CONSENT),
        (1, tc_string(vendors=set()), False, E.NO_CONSENT),
        (1, tc_string(cmp_id=0), False, E.CMP_NOT_IN_GCL),
    ],
)
def test_decide(gdpr: int | None, consent: str | None, allowed: bool, code: int | None) -> None:
    decision = decide(gdpr, consent, purposes=PURPOSES, vendor=VENDOR)
    assert (decision.allowed, decision.code) == (allowed, code)
