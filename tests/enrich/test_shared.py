"""The shared answer cache against a real redis-server: two Enrichers stand for two edge
processes of one deployment (each with its own in-process cache)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
import redis

from edge.config import ConfigError
from edge.contracts.envelope import SegmentResult
from edge.contracts.provider_protocol import Answer
from edge.enrich import Enricher, Hit
from edge.enrich.shared import SharedCache
from tests.enrich._support import UUID, FakeClock, World, answer, config, provider

HIT = Hit(uuid=UUID, signals={"c_page": ("shoes",)})


@pytest.fixture
def shared_url(empty_redis: int) -> str:
    return f"redis://127.0.0.1:{empty_redis}/0?prefix=t:"


def keys(port: int) -> list[bytes]:
    client = redis.Redis(port=port)
    try:
        return sorted(client.keys("*"))
    finally:
        client.close()


async def settle(*enrichers: Enricher) -> None:
    """Let the background writes to Redis finish."""
    for e in enrichers:
        if e._shared is not None and e._shared._writes:
            await asyncio.wait(e._shared._writes, timeout=5)


def two_processes[T](
    url: str, world: World, body: Callable[[Enricher, Enricher], Awaitable[T]], **edge: Any
) -> T:
    cfg = config(provider("a", 1, ttl_s=60), deadline_ms=3000, shared_cache=url,
                 shared_cache_timeout_ms=1000, **edge)

    async def main() -> T:
        one = Enricher(cfg, client=world.client())
        two = Enricher(cfg, client=world.client())
        try:
            return await body(one, two)
        finally:
            await one.aclose()
            await two.aclose()

    return asyncio.run(main())


def test_an_answer_one_process_got_is_found_by_another(shared_url: str, empty_redis: int) -> None:
    world = World()
    world.reply("a.test", lambda: answer("sports", "news"))

    async def body(one: Enricher, two: Enricher) -> tuple[Any, ...]:
        first = (await one.enrich(HIT)).results[0]
        await settle(one)
        second = (await two.enrich(HIT)).results[0]
        third = (await two.enrich(HIT)).results[0]
        other = (await two.enrich(replace(HIT, uuid=UUID[:-1] + "9"))).results[0]
        await settle(two)
        return first, second, third, other, two.registry.get_sample_value

    first, second, third, other, sample = two_processes(shared_url, world, body)
    assert (first.status, first.cache) == ("ok", "miss")
    assert (second.status, second.cache) == ("ok", "shared")
    assert [s.id for s in second.segments] == ["news", "sports"] or [
        s.id for s in second.segments] == ["sports", "news"]
    assert second.segments == first.segments
    assert third.cache == "hit"  # now in the second process's own cache
    assert other.cache == "miss"  # another visitor: another key
    assert world.count("a.test") == 2  # the first visitor's provider call was made once
    assert sample("edge_shared_cache_total", {"provider": "a", "result": "hit"}) == 1
    assert sample("edge_shared_cache_total", {"provider": "a", "result": "miss"}) == 1
    stored = keys(empty_redis)
    assert len(stored) == 2 and all(k.startswith(b"t::a\x1f") for k in stored)
    assert not any(UUID.encode() in k for k in stored)  # hashed, never the raw id


def test_tenants_do_not_share_answers(shared_url: str) -> None:
    world = World()
    world.reply("a.test", lambda: answer("s"))

    async def main() -> list[str]:
        base = config(provider("a", 1, ttl_s=60), deadline_ms=3000, shared_cache=shared_url,
                      shared_cache_timeout_ms=1000)
        one = Enricher(replace(base, tenant="acme"), client=world.client())
        two = Enricher(replace(base, tenant="birch"), client=world.client())
        try:
            first = (await one.enrich(HIT)).results[0]
            await settle(one)
            second = (await two.enrich(HIT)).results[0]
            return [first.cache, second.cache]
        finally:
            await one.aclose()
            await two.aclose()

    assert asyncio.run(main()) == ["miss", "miss"]
    assert world.count("a.test") == 2


def test_empty_answers_are_shared_and_failures_are_not(shared_url: str) -> None:
    world = World()
    world.reply("a.test", lambda: answer())  # nothing known: negative TTL
    world.reply("b.test", lambda: answer(status=500))
    cfg = config(provider("a", 1), provider("b", 2), deadline_ms=3000,
                 shared_cache=shared_url, shared_cache_timeout_ms=1000)

    async def main() -> dict[str, tuple[str, str]]:
        one, two = Enricher(cfg, client=world.client()), Enricher(cfg, client=world.client())
        try:
            await one.enrich(HIT)
            await settle(one)
            out = await two.enrich(HIT)
            return {r.name: (r.status, r.cache) for r in out.results}
        finally:
            await one.aclose()
            await two.aclose()

    got = asyncio.run(main())
    assert got == {"a": ("empty", "shared"), "b": ("error", "miss")}
    assert world.count("b.test") == 2


def test_redis_down_costs_nothing_but_the_shared_answers(
    disposable_redis: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = disposable_redis
    world = World()
    world.reply("a.test", lambda: answer("s"))
    clock = FakeClock()
    cfg = config(provider("a", 1, ttl_s=0), deadline_ms=3000,
                 shared_cache=f"redis://127.0.0.1:{port}/0", shared_cache_timeout_ms=500)

    async def main() -> tuple[list[tuple[str, str]], Any]:
        e = Enricher(cfg, client=world.client(), clock=clock)
        try:
            seen = [((await e.enrich(HIT)).results[0]) for _ in range(1)]
            proc.kill()
            proc.wait(10)
            seen.append((await e.enrich(HIT)).results[0])  # error: Redis is gone
            seen.append((await e.enrich(HIT)).results[0])  # skipped for the backoff
            clock.advance(2)
            seen.append((await e.enrich(HIT)).results[0])  # tried again: error
            return [(r.status, r.cache) for r in seen], e.registry.get_sample_value
        finally:
            await e.aclose()

    seen, sample = asyncio.run(main())
    assert seen == [("ok", "miss")] * 4  # every hit answered by the provider
    assert world.count("a.test") == 4
    assert sample("edge_shared_cache_total", {"provider": "a", "result": "error"}) == 2
    assert sample("edge_shared_cache_total", {"provider": "a", "result": "skipped"}) == 1


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"{}", b'{"s": [["x", 1]], "f": "soon"}', b'{"s": 5, "f": 9999999999}',
     json.dumps({"s": [["x", 1]], "f": 999.0}).encode()],  # the last one: expired
)
def test_a_value_it_cannot_use_is_a_miss(shared_url: str, empty_redis: int, raw: bytes) -> None:

    async def main() -> tuple[Answer, float] | None:
        cache = SharedCache(shared_url, wall=lambda: 1000.0)
        client = redis.Redis(port=empty_redis)
        client.set("t::k", raw)
        client.close()
        try:
            return await cache.get("a", "k", 1.0)
        finally:
            await cache.aclose()

    assert asyncio.run(main()) is None


def test_a_stored_answer_reads_back_with_what_is_left_of_its_ttl(
    shared_url: str, empty_redis: int
) -> None:
    now = [1000.0]

    async def main() -> tuple[tuple[Answer, float] | None, list[bytes]]:
        cache = SharedCache(shared_url, tenant="t1", wall=lambda: now[0])
        try:
            cache.put("a", "k", Answer((SegmentResult("x", 0),)), 30)
            await asyncio.wait(cache._writes, timeout=5)
            now[0] += 10
            return await cache.get("a", "k", 1.0), keys(empty_redis)
        finally:
            await cache.aclose()

    got, stored = asyncio.run(main())
    assert stored == [b"t:t1:k"]
    assert got is not None
    answer_, left = got
    assert answer_.segments == (SegmentResult("x", 0),) and 19.9 < left <= 20.0
    assert answer_.ttl_s == int(left)


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://127.0.0.1:6379", "redis://"), ("redis://h/0?prefix=a&prefix=b", "more than once")],
)
def test_config_rejects_a_bad_shared_cache_url(url: str, message: str) -> None:
    from edge import config as edge_config

    text = f'secret = "0123456789abcdef0123"\n[edge]\nshared_cache = "{url}"\n'
    with pytest.raises(ConfigError, match=rf"edge\.shared_cache: .*{message}"):
        edge_config.parse(text)
