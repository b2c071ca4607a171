from __future__ import annotations

import pytest

from edge.dcs import errors as E
from edge.dcs.consent import decide, parse
from tests.dcs.helpers import tc_string

PURPOSES = (1, 10)
VENDOR = 565


@pytest.mark.parametrize("ranges", [False, True])
def test_parse_reads_cmp_purposes_and_vendors(ranges: bool) -> None:
    core = parse(tc_string(cmp_id=31, purposes={1, 3, 10}, vendors={2, 565}, ranges=ranges))
    assert (core.version, core.cmp_id) == (2, 31)
    assert core.purposes == {1, 3, 10}
    assert core.vendors == {2, 565}


def test_parse_ignores_segments_after_the_core() -> None:
    assert parse(tc_string() + ".YAAAAAAAAAA").cmp_id == 7


@pytest.mark.parametrize("text", ["", "!!!", "AAAA", "BAAAAAAA"])
def test_parse_rejects_non_tc_strings(text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


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
