"""Arbitrary query strings, paths, headers and bodies never make the DCS answer a 5xx."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.dcs.app import create_app
from edge.profiles import open_store
from tests.dcs.helpers import NOW, envelope, make_config

APP = create_app(make_config(), store=open_store("sqlite://:memory:"), clock=lambda: NOW)

KEYS = st.sampled_from([
    "d_rtbd", "d_cb", "d_cid", "d_cid_ic", "d_uuid", "d_mid", "d_sid", "d_tdpid", "d_tdpid_ic",
    "d_rd", "gdpr", "gdpr_consent", "d_cts", "d_jsonv", "d_dst", "d_coppa", "c_likes", "p_age",
    "key1", "dpid", "dpuuid", "redir", "h_host", "d_dpid", "d_dpuuid",
])
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["json", "1", "2", "true", "12345678901234567890123456789012345678",
                     "1001%01abc", "%", "%zz", "%01", "http%3A%2F%2Fadobe.com%2F", '"a,b"']),
)
PAIR = st.tuples(KEYS | st.text(max_size=10), VALUES).map(lambda kv: f"{kv[0]}={kv[1]}")
STRUCTURED = st.lists(PAIR, max_size=12).map(lambda ps: "&".join(ps).encode("utf-8", "replace"))
RAW = st.binary(max_size=300)
QUERY = STRUCTURED | RAW
PATHS = st.sampled_from(["/event", "/ibs", "/ibs:", "/demoptout.jpg", "/demoptout",
                         "/internal/visitor", "/healthz", "/dest5.html", "/x"])
HEADERS = st.lists(
    st.tuples(
        st.sampled_from([b"cookie", b"origin", b"host", b"x-forwarded-proto", b"referer",
                         b"content-type", b"x-edge-enrichment", b"user-agent"]),
        st.binary(max_size=60).map(lambda b: bytes(c for c in b if c not in b"\r\n")),
    ),
    max_size=5,
)


async def call(method: str, raw_path: bytes, query: bytes, headers: list[Any],
               body: bytes) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": raw_path.decode("latin-1"), "raw_path": raw_path,
        "query_string": query, "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("dcs", 80), "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await APP(scope, receive, send)
    return status


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "OPTIONS"]),
    path=PATHS,
    suffix=QUERY,
    query=QUERY,
    headers=HEADERS,
    body=QUERY,
)
def test_never_a_5xx(method: str, path: str, suffix: bytes, query: bytes,
                     headers: list[Any], body: bytes) -> None:
    raw_path = path.encode() + (suffix if path == "/ibs:" else b"")
    status = asyncio.run(call(method, raw_path, query, headers, body))
    assert 200 <= status < 500


@settings(max_examples=50, deadline=None)
@given(segments=st.lists(st.tuples(st.text(max_size=20), st.integers(-3, 3)), max_size=5),
       query=STRUCTURED)
def test_signed_envelopes_with_odd_segments_never_5xx(
    segments: list[tuple[str, int]], query: bytes
) -> None:
    uuid = "3" * 38
    headers = [(b"x-edge-enrichment", envelope(uuid, segments).encode())]
    status = asyncio.run(call("GET", b"/event", b"d_uuid=" + uuid.encode() + b"&" + query,
                              headers, b""))
    assert 200 <= status < 500
