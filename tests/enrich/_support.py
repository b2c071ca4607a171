"""Shared helpers for the enrichment tests: configs, a fake clock and a mock provider world."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from edge.config import Config, EdgeConfig, ProviderConfig

SECRET = b"0123456789abcdef-test-secret"
UUID = "12345678901234567890123456789012345678"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def provider(name: str, dpid: int, **kw: Any) -> ProviderConfig:
    return ProviderConfig(name=name, dpid=dpid, url=f"http://{name}.test/v1", **kw)


def config(*providers: ProviderConfig, deadline_ms: int = 100, **edge: Any) -> Config:
    return Config(
        secret=SECRET,
        edge=EdgeConfig(deadline_ms=deadline_ms, dcs="http://dcs.test", **edge),
        providers=tuple(providers),
    )


def answer(*ids: str, ttl_s: int | None = None, status: int = 200) -> httpx.Response:
    doc: dict[str, Any] = {"segments": [{"id": i} for i in ids]}
    if ttl_s is not None:
        doc["ttl_s"] = ttl_s
    return httpx.Response(status, json=doc)


Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass
class Call:
    host: str
    start: float
    end: float = 0.0
    body: Any = None
    request: httpx.Request | None = None


@dataclass
class World:
    """Mock providers by host: each an async handler; every call recorded with timestamps."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def on(self, host: str, handler: Handler) -> None:
        self.handlers[host] = handler

    def reply(
        self, host: str, response: Callable[[], httpx.Response], delay_s: float = 0.0
    ) -> None:
        async def handler(_req: httpx.Request) -> httpx.Response:
            if delay_s:
                await asyncio.sleep(delay_s)
            return response()

        self.on(host, handler)

    def count(self, host: str) -> int:
        return sum(1 for c in self.calls if c.host == host)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        call = Call(request.url.host, time.monotonic(), request=request)
        if request.content:
            call.body = json.loads(request.content)
        self.calls.append(call)
        handler = self.handlers.get(request.url.host)
        try:
            if handler is None:
                return httpx.Response(404)
            return await handler(request)
        finally:
            call.end = time.monotonic()

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def with_timeout(p: ProviderConfig, ms: int) -> ProviderConfig:
    return replace(p, timeout_ms=ms)
