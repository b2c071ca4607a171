"""The "DCS hit" view's text: what an operator reads for one hit."""

from __future__ import annotations

from typing import Any

import pytest

from edge.debugview import HitView, mask, render

TRACE: dict[str, Any] = {
    "uuid": "12345678901234567890123456789012345678",
    "uuid_source": "cookie",
    "gdpr": 1,
    "coppa": False,
    "deadline_ms": 100,
    "enrich_ms": 41.5,
    "edge_ms": 42.0,
    "providers": [
        {"name": "acme", "dpid": 1001, "status": "ok", "ms": 12.25, "cache": "miss",
         "segments": [{"id": "sports", "status": 1}, {"id": "travel", "status": 1}]},
        {"name": "cedar", "dpid": 1003, "status": "timeout", "ms": 100.0, "cache": "miss",
         "segments": []},
    ],
    "answer": {"uuid": "12345678901234567890123456789012345678", "tid": "abc",
               "traits": [1, 101], "segments": [5009],
               "dests": [{"id": "7", "y": "img", "c": "http://dsp.test/p?s=1"}],
               "errors": [{"code": 1, "msg": "bad d_cid"}]},
}
PAIRS = [("d_rtbd", "json"), ("c_page", "home"), ("c_tags", "a,b"), ("p_email", "ann@x.test"),
         ("h_referer", "http://shop.test/"), ("gdpr", "1"), ("gdpr_consent", "CO" + "x" * 60),
         ("d_mid", "m-1"), ("_ts", "99")]


def _text(**kw: Any) -> str:
    args: dict[str, Any] = {"method": "GET", "path": "/event", "pairs": PAIRS, "trace": TRACE,
                            "answer": TRACE["answer"]}
    args.update(kw)
    return render(HitView(**args))


@pytest.mark.parametrize(
    "line",
    [
        "DCS hit: GET /event",
        "  visitor: 12345678901234567890123456789012345678 (from cookie)",
        "  d_mid: m-1",
        "  gdpr: 1",
        "  c_ (customer):",
        "    c_page: home",
        "    c_tags: a,b",
        "  d_ (DCS control):",
        "    d_rtbd: json",
        "  h_ (header):",
        "  p_ (private):",
        "    p_email: <masked>",
        "  other:",
        "    _ts: 99",
        "enrichment: deadline 100 ms, took 41.5 ms (edge 42.0 ms)",
        "  acme   ok                  12.2 ms  cache=miss  segments: sports, travel",
        "  cedar  timeout            100.0 ms  cache=miss  segments: -",
        "  degraded: cedar:timeout",
        "  traits: 1, 101",
        "  segments: 5009",
        "  dest: 7 (img) http://dsp.test/p?s=1",
        "  error: 1 bad d_cid",
    ],
)
def test_an_enriched_hit_shows(line: str) -> None:
    assert line in _text().splitlines()


def test_private_values_never_appear() -> None:
    text = _text()
    assert "ann@x.test" not in text
    assert mask("p_email", "x") == "<masked>" and mask("c_email", "x") == "x"


def test_long_values_are_shortened_with_their_length() -> None:
    assert "  gdpr_consent: CO" + "x" * 38 + "... (62 chars)" in _text().splitlines()


def test_response_side_shows_the_status() -> None:
    assert _text(side="response", status=200).startswith("DCS hit: GET /event -> 200\n")


@pytest.mark.parametrize(
    ("trace", "answer", "lines"),
    [
        ({}, None, ["enrichment:", "  (not enriched)", "DCS answer:", "  (none yet)"]),
        ({"degraded": "dcs_down"}, {"errors": [{"code": 0, "msg": "DCS unavailable"}]},
         ["degraded: dcs_down", "  error: 0 DCS unavailable"]),
        ({"gdpr": 0}, {"traits": []}, ["  gdpr (edge): 0", "  traits: -"]),
    ],
)
def test_partial_traces(trace: dict[str, Any], answer: dict[str, Any] | None,
                        lines: list[str]) -> None:
    text = render(HitView("POST", "/event", [("c_page", "x")], trace, answer)).splitlines()
    for line in lines:
        assert line in text


def test_no_signals_at_all() -> None:
    text = render(HitView("GET", "/event")).splitlines()
    assert text[text.index("signals:") + 1] == "  (none)"
    assert text[text.index("ids:") + 1] == "  (none)"
