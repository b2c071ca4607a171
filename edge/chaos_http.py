"""Chaos on provider calls: an httpx transport that wraps the real one.

The provider calls are made by httpx inside the Enricher, not by proxy flows, so chaos for
them sits in the transport: ``ChaosTransport`` asks the current ``Chaos`` (read through a
callable at each request, so it can be changed while the client lives) what to do with a call
to a provider, then delays it, answers it with an error status or a garbage body, cuts it
(``httpx.RemoteProtocolError``) or passes it on untouched. Requests to anything that is not a
provider (the DCS identity lookups) always pass.

``chaos_client(config, current)`` builds the client the Enricher would build for itself, with
the chaos transport in front (see ``Enricher(client=...)``).

Errors: only what the wrapped transport raises, plus the injected ``httpx.RemoteProtocolError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from edge.chaos import GARBAGE, Chaos
from edge.config import Config
from edge.enrich.client import USER_AGENT

Resolver = Callable[[httpx.Request], str | None]


def provider_resolver(config: Config) -> Resolver:
    """Which provider a request goes to, by host, port and path of the configured URLs."""
    exact: dict[tuple[str, int, str], str] = {}
    hosts: dict[tuple[str, int], str] = {}
    for p in config.providers:
        urls = [p.url] + ([p.adapter.url] if p.adapter is not None else [])
        for url in urls:
            parts = urlsplit(url)
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:  # a templated port
                continue
            host = parts.hostname or ""
            if not host or "{" in host:
                continue
            exact[(host, port, parts.path)] = p.name
            hosts.setdefault((host, port), p.name)

    def resolve(request: httpx.Request) -> str | None:
        u = request.url
        port = u.port or (443 if u.scheme == "https" else 80)
        return exact.get((u.host, port, u.path)) or hosts.get((u.host, port))

    return resolve


class ChaosTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        current: Callable[[], Chaos],
        resolve: Resolver,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self._current = current
        self._resolve = resolve
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        chaos = self._current()
        name = self._resolve(request) if chaos else None
        action = chaos.decide("provider", name) if name is not None else None
        if action is None:
            return await self._inner.handle_async_request(request)
        if action.latency_ms:
            await self._sleep(action.latency_ms / 1000)
        if action.fault == "error":
            return httpx.Response(action.status, content=b"chaos: injected error", request=request)
        if action.fault == "garbage":
            headers = {"content-type": "application/json"}
            return httpx.Response(200, headers=headers, content=GARBAGE, request=request)
        if action.fault == "reset":
            raise httpx.RemoteProtocolError("chaos: connection reset", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def chaos_client(
    config: Config,
    current: Callable[[], Chaos],
    *,
    inner: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The Enricher's shared client, its transport wrapped in chaos."""
    n = max(1, len(config.providers))
    transport = inner or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=64 * n + 16,
            max_keepalive_connections=16 * n + 8,
            keepalive_expiry=30.0,
        )
    )
    return httpx.AsyncClient(
        transport=ChaosTransport(transport, current, provider_resolver(config)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )
