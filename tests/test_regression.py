"""Comparing DCS answers, then and now."""

from __future__ import annotations

from typing import Any

import pytest

from edge.regression import HitResult, Report, compare

THEN: dict[str, Any] = {"uuid": "u1", "tid": "a", "traits": [1, 101], "segments": [5009],
                        "dests": [{"id": "7", "y": "img", "c": "x"}], "errors": []}


@pytest.mark.parametrize(
    ("now", "same_visitor", "diffs"),
    [
        ({**THEN, "tid": "b", "traits": [101, 1]}, True, []),
        ({**THEN, "uuid": "u2"}, False, []),
        ({**THEN, "uuid": "u2"}, True, ["uuid: u1 then, u2 now"]),
        ({**THEN, "traits": [1, 303]}, False, ["traits: lost ['101'], gained ['303']"]),
        ({**THEN, "segments": []}, False, ["segments: lost ['5009'], gained -"]),
        ({**THEN, "dests": []}, False, ["dests: lost ['7'], gained -"]),
        ({**THEN, "errors": [{"code": 0, "msg": "x"}]}, False, ["errors: lost -, gained ['0']"]),
        (None, False, ["answer: present then, none now"]),
    ],
)
def test_compare(now: dict[str, Any] | None, same_visitor: bool, diffs: list[str]) -> None:
    assert compare(THEN, now, same_visitor=same_visitor) == diffs


def test_no_answer_either_time_agrees() -> None:
    assert compare(None, None) == []


def test_report_summary_lists_only_the_differences() -> None:
    report = Report([HitResult("f1", "/event?a"), HitResult("f2", "/event?b", ("traits: x",))])
    assert [r.flow_id for r in report.failed] == ["f2"]
    assert report.summary().splitlines() == [
        "2 hits replayed, 1 differ", "  f2 /event?b", "    traits: x",
    ]
