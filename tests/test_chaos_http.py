"""The chaos transport: provider calls get the injected misbehaviour, nothing else does."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from edge.chaos import GARBAGE, Chaos
from edge.chaos_http import ChaosTransport, chaos_client, provider_resolver
from edge.config import AdapterConfig, ProviderConfig
from tests.enrich._support import config, provider

CFG = config(
    provider("acme", 1001),
    ProviderConfig("birch", 1002, url="http://shared.test:8000/b"),
    ProviderConfig("cedar", 1003, url="http://shared.test:8000/c"),
    ProviderConfig("dune", 1004, url="", adapter=AdapterConfig(url="http://dune.test/u/{uuid}")),
)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://acme.test/v1", "acme"),
        ("http://acme.test:80/v1", "acme"),
        ("http://shared.test:8000/b", "birch"),
        ("http://shared.test:8000/c", "cedar"),
        ("http://dune.test/u/123", "dune"),
        ("http://dcs.test/_edge/visitor", None),
    ],
)
def test_resolver_names_the_provider_of_a_request(url: str, name: str | None) -> None:
    assert provider_resolver(CFG)(httpx.Request("POST", url)) == name


def _send(chaos: Chaos, url: str = "http://acme.test/v1") -> tuple[httpx.Response, list[str]]:
    seen: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"segments": []})

    async def go() -> httpx.Response:
        async with chaos_client(CFG, lambda: chaos, inner=httpx.MockTransport(upstream)) as c:
            return await c.post(url, content=b"{}")

    return asyncio.run(go()), seen


@pytest.mark.parametrize(
    ("spec", "status", "body", "reached"),
    [
        ("provider:acme:error=503", 503, b"chaos: injected error", False),
        ("provider:acme:garbage", 200, GARBAGE, False),
        ("provider:birch:error=503", 200, b'{"segments":[]}', True),
        ("provider:acme:error=503,p=0", 200, b'{"segments":[]}', True),
    ],
)
def test_faults_answer_instead_of_the_provider(
    spec: str, status: int, body: bytes, reached: bool
) -> None:
    r, seen = _send(Chaos.from_specs([spec]))
    assert (r.status_code, r.content) == (status, body)
    assert bool(seen) == reached


def test_reset_raises_a_protocol_error_and_the_provider_is_not_reached() -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="chaos"):
        _send(Chaos.from_specs(["provider:*:reset"]))


def test_non_provider_requests_always_pass() -> None:
    r, seen = _send(Chaos.from_specs(["provider:*:reset"]), "http://dcs.test/_edge/visitor")
    assert r.status_code == 200 and seen == ["http://dcs.test/_edge/visitor"]


def test_latency_is_slept_then_the_call_goes_on() -> None:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    async def go() -> httpx.Response:
        inner = httpx.MockTransport(lambda req: httpx.Response(204))
        chaos = Chaos.from_specs(["provider:acme:latency=250"])
        transport = ChaosTransport(inner, lambda: chaos, provider_resolver(CFG), sleep=sleep)
        async with httpx.AsyncClient(transport=transport) as c:
            return await c.post("http://acme.test/v1")

    assert asyncio.run(go()).status_code == 204
    assert slept == [0.25]


def test_the_rules_are_read_at_each_call() -> None:
    current = [Chaos.from_specs(["provider:acme:error=500"])]

    async def go() -> list[int]:
        inner = httpx.MockTransport(lambda req: httpx.Response(204))
        async with chaos_client(CFG, lambda: current[0], inner=inner) as c:
            first = await c.post("http://acme.test/v1")
            current[0] = Chaos()
            second = await c.post("http://acme.test/v1")
        return [first.status_code, second.status_code]

    assert asyncio.run(go()) == [500, 204]
