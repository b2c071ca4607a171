"""What an enriched hit leaves behind: marks, the answer in the trace, one JSON log line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from addons import hitlog

UUID = "12345678901234567890123456789012345678"


def trace(*statuses: str) -> dict[str, Any]:
    return {
        "uuid": UUID, "uuid_source": "cookie", "deadline_ms": 100, "enrich_ms": 20.0,
        "providers": [
            {"name": f"p{i}", "dpid": i, "status": s, "ms": 5.0, "cache": "miss",
             "segments": [{"id": f"s{i}", "status": 1}] if s == "ok" else []}
            for i, s in enumerate(statuses)
        ],
    }


@pytest.mark.parametrize(
    ("statuses", "marked", "prefix"),
    [
        (("ok", "empty"), ":star:", "visitor "),
        (("ok", "timeout"), ":warning:", "degraded p1:timeout | visitor "),
        (("breaker_open", "error"), ":warning:", "degraded p0:breaker_open p1:error | visitor "),
    ],
)
def test_mark(statuses: tuple[str, ...], marked: str, prefix: str) -> None:
    f = tflow.tflow()
    hitlog.mark(f, trace(*statuses))
    assert f.marked == marked and f.comment.startswith(prefix) and UUID in f.comment


@pytest.mark.parametrize(
    ("content", "content_type", "answer"),
    [
        (b'{"uuid":"u","segments":[5001],"dcs_region":7}', "application/json",
         {"uuid": "u", "segments": [5001]}),
        (b"GIF89a", "image/gif", None),
    ],
)
def test_record_answer(content: bytes, content_type: str, answer: Any) -> None:
    t = trace("ok")
    hitlog.record_answer(t, http.Response.make(200, content, {"content-type": content_type}))
    assert t.get("answer") == answer


def test_emit_one_json_line(caplog: pytest.LogCaptureFixture) -> None:
    t = trace("ok", "timeout")
    t["answer"] = {"traits": [101], "segments": [5001], "errors": []}
    with caplog.at_level(logging.INFO, logger="edge.hits"):
        hitlog.emit(t)
    (record,) = caplog.records
    assert json.loads(record.getMessage()) == {
        "event": "hit", "uuid": UUID, "uuid_source": "cookie", "enrich_ms": 20.0,
        "providers": [
            {"name": "p0", "status": "ok", "ms": 5.0, "cache": "miss", "segments": ["s0"]},
            {"name": "p1", "status": "timeout", "ms": 5.0, "cache": "miss", "segments": []},
        ],
        "traits": [101], "segments": [5001], "errors": [],
    }


def test_server_timing_is_the_trace_one() -> None:
    assert hitlog.server_timing(trace("ok")).startswith('edge;dur=20.0;desc="deadline 100ms"')


def test_pixel_is_a_gif() -> None:
    assert hitlog.PIXEL.startswith(b"GIF89a")


def test_hit_log_writes_json_lines_in_batches() -> None:
    import io

    out = io.StringIO()
    log = hitlog.HitLog(out)
    log.write(trace("ok"))
    log.write(trace("timeout"))
    assert out.getvalue() == ""  # nothing per hit: one write per batch
    log.flush()
    lines = out.getvalue().splitlines()
    assert [json.loads(x)["providers"][0]["status"] for x in lines] == ["ok", "timeout"]
    log.flush()
    assert len(out.getvalue().splitlines()) == 2  # an empty batch writes nothing
