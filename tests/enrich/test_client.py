from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jmespath
import pytest

import edge
from edge.config import AdapterConfig
from edge.contracts.envelope import SegmentResult
from edge.contracts.provider_protocol import ProtocolError, signature
from edge.enrich.client import (
    AdapterTemplateError,
    ProviderClient,
    ProviderError,
    ProviderFailed,
    ProviderRequest,
    ProviderTimeout,
    fill_url,
    map_segments,
    minimise,
)
from tests.enrich._support import UUID, World, answer, provider

REQ = ProviderRequest(
    uuid=UUID,
    dpuuid="dp-1",
    signals={"c_page": ("shoes",), "c_lang": ("it",), "p_secret": ("x",), "d_ua": ("ff",)},
    gdpr=1,
    gdpr_consent="CONSENT",
    deadline_ms=80,
)


def fetch(world: World, p: Any, req: ProviderRequest = REQ, timeout_s: float = 1.0) -> Any:
    async def main() -> Any:
        async with world.client() as http:
            return await ProviderClient(p).fetch(http, req, timeout_s)

    return asyncio.run(main())


def test_native_request_body_and_headers() -> None:
    world = World()
    world.reply("a.test", lambda: answer("s1", ttl_s=600))
    p = provider("a", 1234, secret=b"k" * 16, token="tok", signals=("c_page", "p_secret"))
    got = fetch(world, p)
    assert got.segments == (SegmentResult("s1"),) and got.ttl_s == 600
    req = world.calls[0].request
    assert req is not None and req.method == "POST"
    body = json.loads(req.content)
    assert body["dpid"] == 1234 and body["user"] == {"uuid": UUID, "dpuuid": "dp-1"}
    assert body["signals"] == {"c_page": ["shoes"]}  # allowed keys only, never p_
    assert body["consent"] == {"gdpr": 1, "gdpr_consent": "CONSENT"}
    assert body["deadline_ms"] == 80
    assert req.headers["X-Signature"] == signature(b"k" * 16, req.content)
    assert req.headers["Authorization"] == "Bearer tok"
    assert req.headers["User-Agent"] == f"audience-edge/{edge.__version__}"
    assert req.headers["Content-Type"] == "application/json"


def test_no_signature_or_token_unless_configured() -> None:
    world = World()
    world.reply("a.test", lambda: answer())
    fetch(world, provider("a", 1))
    req = world.calls[0].request
    assert req is not None
    assert "X-Signature" not in req.headers and "Authorization" not in req.headers


@pytest.mark.parametrize(
    "allowed, expected",
    [
        (None, {"c_page", "c_lang", "d_ua"}),
        (("c_lang",), {"c_lang"}),
        (("p_secret",), set()),
        ((), set()),
    ],
)
def test_minimise(allowed: tuple[str, ...] | None, expected: set[str]) -> None:
    assert set(minimise(provider("a", 1, signals=allowed), REQ.signals)) == expected


def test_max_age_is_folded_into_the_answer() -> None:
    world = World()
    world.reply("a.test", lambda: httpx.Response(
        200, json={"segments": []}, headers={"Cache-Control": "public, max-age=42"}))
    assert fetch(world, provider("a", 1)).ttl_s == 42


async def _endless() -> AsyncIterator[bytes]:
    while True:
        yield b"x" * 4096
        await asyncio.sleep(0)


def _misbehaving(kind: str) -> httpx.Response:
    if kind == "500":
        return httpx.Response(500, text="boom")
    if kind == "not json":
        return httpx.Response(200, text="not json")
    if kind == "wrong types":
        return httpx.Response(200, json={"segments": [{"id": ["x"], "status": "yes"}]})
    if kind == "not a list":
        return httpx.Response(200, json={"segments": "a,b"})
    if kind == "huge body":
        return httpx.Response(200, content=b"[" + b" " * 300_000 + b"]")
    if kind == "endless body":
        return httpx.Response(200, content=_endless())
    if kind == "too many":
        return httpx.Response(200, json={"segments": [{"id": str(i)} for i in range(11)]})
    if kind == "redirect":
        return httpx.Response(302, headers={"Location": "http://elsewhere.test/"})
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, message",
    [
        ("500", "HTTP 500"),
        ("not json", "not JSON"),
        ("wrong types", "segment id"),
        ("not a list", "not a list"),
        ("huge body", "over the limit"),
        ("endless body", "over the limit"),
        ("too many", "more than the limit"),
        ("redirect", "HTTP 302"),
    ],
)
def test_misbehaviour_is_a_provider_failure(kind: str, message: str) -> None:
    world = World()
    world.reply("a.test", lambda: _misbehaving(kind))
    with pytest.raises(ProviderFailed, match=message):
        fetch(world, provider("a", 1, max_segments=10))


@pytest.mark.parametrize(
    "exc, expected",
    [
        (httpx.ConnectError("refused"), ProviderFailed),
        (httpx.RemoteProtocolError("reset"), ProviderFailed),
        (httpx.ReadError("reset by peer"), ProviderFailed),
        (httpx.ReadTimeout("slow"), ProviderTimeout),
        (httpx.PoolTimeout("pool"), ProviderTimeout),
    ],
)
def test_httpx_errors_are_translated(exc: Exception, expected: type[ProviderError]) -> None:
    world = World()

    async def raise_it(_req: httpx.Request) -> httpx.Response:
        raise exc

    world.on("a.test", raise_it)
    with pytest.raises(expected):
        fetch(world, provider("a", 1))


def test_a_slow_provider_times_out_within_the_budget() -> None:
    world = World()
    world.reply("a.test", lambda: answer("late"), delay_s=5)
    with pytest.raises(ProviderTimeout):
        fetch(world, provider("a", 1), timeout_s=0.02)


def test_http_loggers_are_quiet() -> None:
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING


# -- the configurable adapter ---------------------------------------------------------------

HOSTILE = ["a/b", "x?admin=1", "frag#x", "user@evil.test", "../..", "a b&c=d", "%2F", "é"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "template",
    [
        "https://api.test/v2/users/{dpuuid}/segments?dpid={dpid}",
        "https://api.test/v2/lookup?id={dpuuid}&page={signal:c_page}",
    ],
)
def test_url_values_stay_inside_their_segment(template: str, value: str) -> None:
    url = httpx.URL(fill_url(template, {"dpuuid": value, "dpid": "7", "signal:c_page": value}))
    assert url.scheme == "https" and url.host == "api.test"
    assert url.fragment == ""
    if "users" in template:
        parts = url.raw_path.decode().split("?")[0].split("/")
        assert parts[:4] == ["", "v2", "users", parts[3]] and parts[4:] == ["segments"]
        assert httpx.URL("http://x/" + parts[3]).path == "/" + value  # decodes back
        assert dict(url.params) == {"dpid": "7"}
    else:
        assert url.path == "/v2/lookup"
        assert dict(url.params) == {"id": value, "page": value}


def adapter(**kw: Any) -> Any:
    a = AdapterConfig(**kw)
    return provider("ad", 55, adapter=a)


def test_adapter_get_with_mapped_response() -> None:
    world = World()
    world.reply("a.test", lambda: httpx.Response(200, json={"data": {"audiences": [
        {"code": "auto", "active": True}, {"code": "old", "active": False},
        {"code": "golf", "active": True}]}}))
    p = adapter(url="https://a.test/u/{uuid}?p={signal:c_page}&x={signal:p_secret}",
                segments="data.audiences[?active].code")
    got = fetch(world, p)
    assert [s.id for s in got.segments] == ["auto", "golf"]
    req = world.calls[0].request
    assert req is not None and req.method == "GET"
    assert req.url.path == f"/u/{UUID}" and dict(req.url.params) == {"p": "shoes", "x": ""}


def test_adapter_post_body_template_is_json_escaped() -> None:
    world = World()
    world.reply("a.test", lambda: httpx.Response(204))
    p = adapter(method="POST", url="https://a.test/q", headers={"X-Id": "{dpuuid}"},
                body='{"id": "{dpuuid}", "page": "{signal:c_page}", "dpid": {dpid}}')
    req_hostile = ProviderRequest(uuid=UUID, dpuuid='x", "admin": true, "y": "\n',
                                  signals={"c_page": ('"}',)})
    assert fetch(world, p, req_hostile).segments == ()
    req = world.calls[0].request
    assert req is not None
    assert json.loads(req.content) == {
        "id": 'x", "admin": true, "y": "\n', "page": '"}', "dpid": 55}
    assert req.headers["X-Id"] == "x%22%2C%20%22admin%22%3A%20true%2C%20%22y%22%3A%20%22%0A"


@pytest.mark.parametrize(
    "segments, status, doc, expected",
    [
        ("segments", None, {"segments": ["a", 7]}, [("a", 1), ("7", 1)]),
        ("segments", None, {"segments": [{"id": "a", "status": 0}]}, [("a", 0)]),
        ("segments", None, {}, []),  # nothing selected: empty answer
        ("d[*]", "on", {"d": [{"id": "a", "on": True}, {"id": "b", "on": False}]},
         [("a", 1), ("b", 0)]),
        ("d[*]", "on", {"d": [{"id": "a"}]}, [("a", 1)]),
        ("d[*].{id: code, status: live}", None, {"d": [{"code": "c", "live": 0}]}, [("c", 0)]),
    ],
)
def test_jmespath_mapping(
    segments: str, status: str | None, doc: Any, expected: list[tuple[str, int]]
) -> None:
    got = map_segments(jmespath.compile(segments),
                       jmespath.compile(status) if status else None, doc, 100)
    assert [(s.id, s.status) for s in got] == expected


@pytest.mark.parametrize(
    "segments, status, doc",
    [
        ("segments", None, {"segments": "abc"}),
        ("segments", None, {"segments": [{"code": "no id"}]}),
        ("segments", None, {"segments": [None]}),
        ("d[*]", "on", {"d": [{"id": "a", "on": "yes"}]}),
        ("segments", None, {"segments": ["x"] * 101}),
    ],
)
def test_jmespath_mapping_rejects_bad_shapes(segments: str, status: str | None, doc: Any) -> None:
    with pytest.raises(ProtocolError):
        map_segments(jmespath.compile(segments),
                     jmespath.compile(status) if status else None, doc, 100)


@pytest.mark.parametrize(
    "kw",
    [
        {"url": "https://a.test/{nope}"},
        {"url": "https://a.test/{uuid"},
        {"url": "ftp://a.test/{uuid}"},
        {"url": "{uuid}"},
        {"url": "https://a.test/", "segments": "data[?"},
    ],
)
def test_bad_adapter_config_fails_fast(kw: dict[str, str]) -> None:
    with pytest.raises(AdapterTemplateError):
        ProviderClient(adapter(**kw))
