"""The per-hit trace: Server-Timing, degraded providers, the summary line, the DCS answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge import trace

UUID = "12345678901234567890123456789012345678"


def prov(name: str, status: str, ms: float = 10.0, cache: str = "miss",
         segments: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"name": name, "dpid": 1, "status": status, "ms": ms, "cache": cache,
            "segments": [{"id": s, "status": 1} for s in segments]}


TRACE: dict[str, Any] = {
    "uuid": UUID,
    "deadline_ms": 100,
    "enrich_ms": 42.5,
    "providers": [prov("acme", "ok", 12.34, "miss", ("sports",)),
                  prov("birch", "timeout", 80.0, "inflight"),
                  prov("cedar", "empty", 0.0, "hit")],
}


def test_server_timing() -> None:
    assert trace.server_timing(TRACE) == (
        'edge;dur=42.5;desc="deadline 100ms", '
        'p-acme;dur=12.34;desc="ok/miss", '
        'p-birch;dur=80.0;desc="timeout/inflight", '
        'p-cedar;dur=0.0;desc="empty/hit"'
    )


@pytest.mark.parametrize(
    ("name", "metric"),
    [("acme", "p-acme"), ("a b", "p-a-b"), ('x";y', "p-x--y"), ("é", "p--"), ("a,b", "p-a-b")],
)
def test_server_timing_metric_names_are_tokens(name: str, metric: str) -> None:
    value = trace.server_timing({"enrich_ms": 1, "deadline_ms": 5, "providers": [prov(name, "ok")]})
    assert value.split(", ")[1].split(";")[0] == metric


def test_server_timing_without_providers() -> None:
    assert trace.server_timing({"enrich_ms": 3, "deadline_ms": 50}) == (
        'edge;dur=3;desc="deadline 50ms"'
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["ok", "empty", "skipped_consent", "skipped_dpuuid", "disabled"], []),
        (["timeout"], ["p0:timeout"]),
        (["error", "ok", "breaker_open"], ["p0:error", "p2:breaker_open"]),
    ],
)
def test_degraded(statuses: list[str], expected: list[str]) -> None:
    t = {"providers": [prov(f"p{i}", s) for i, s in enumerate(statuses)]}
    assert trace.degraded(t) == expected


def test_summary() -> None:
    assert trace.summary(TRACE) == (
        f"visitor {UUID} [acme=ok/12ms birch=timeout/80ms cedar=empty/0ms(cache)] 42.5ms"
    )


def test_summary_with_answer_segments() -> None:
    t = {**TRACE, "providers": [], "answer": {"segments": [5001, 5003]}}
    assert trace.summary(t) == f"visitor {UUID} [] 42.5ms segments=5001,5003"


ANSWER = {"uuid": UUID, "tid": "31ZpxW5bQGc=", "stuff": [], "dests": [], "traits": [1],
          "segments": [5001], "dcs_region": 7}
KEPT = {k: v for k, v in ANSWER.items() if k != "dcs_region"}


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(json.dumps(ANSWER).encode(), "application/json", KEPT, id="json"),
        pytest.param(f"cb({json.dumps(ANSWER)});".encode(), "application/javascript", KEPT,
                     id="jsonp"),
        pytest.param(f"  cb({json.dumps(ANSWER)})\n".encode(), "text/javascript", KEPT,
                     id="jsonp-whitespace"),
        pytest.param(b'{"errors":[{"code":0}],"x":1}', "application/json",
                     {"errors": [{"code": 0}]}, id="errors-only"),
        pytest.param(json.dumps(ANSWER).encode(), "text/html", None, id="not-json-type"),
        pytest.param(b"", "application/json", None, id="empty"),
        pytest.param(b"{not json", "application/json", None, id="broken"),
        pytest.param(b"[1,2]", "application/json", None, id="not-object"),
        pytest.param(b"cb(", "application/javascript", None, id="jsonp-broken"),
        pytest.param(b"\xff{}", "application/json", None, id="not-utf8"),
    ],
)
def test_read_answer(body: bytes, content_type: str, expected: dict[str, Any] | None) -> None:
    assert trace.read_answer(body, content_type) == expected
