from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from edge.config import BreakerConfig, Config
from edge.contracts.envelope import STATUSES
from edge.contracts.tcf import TCString, encode
from edge.enrich import Enricher, Hit, Outcome
from tests.enrich._support import UUID, FakeClock, World, answer, config, provider

HIT = Hit(uuid=UUID, signals={"c_page": ("shoes",), "p_x": ("private",)})


def run[T](
    cfg: Config, world: World, body: Callable[[Enricher], Awaitable[T]], clock: Any = None
) -> T:
    async def main() -> T:
        kw = {"clock": clock} if clock is not None else {}
        e = Enricher(cfg, client=world.client(), **kw)
        try:
            return await body(e)
        finally:
            await e.aclose()

    return asyncio.run(main())


def by_name(outcome: Outcome) -> dict[str, Any]:
    return {r.name: r for r in outcome.results}


def test_providers_are_asked_concurrently() -> None:
    world = World()
    for h in ("a", "b", "c"):
        # long enough that a loaded machine still starts all three before the first ends
        world.reply(f"{h}.test", lambda: answer("s"), delay_s=0.5)
    cfg = config(*(provider(h, i, timeout_ms=3000) for i, h in enumerate("abc", 1)),
                 deadline_ms=5000)
    out = run(cfg, world, lambda e: e.enrich(HIT))
    assert [r.status for r in out.results] == ["ok", "ok", "ok"]
    assert [r.cache for r in out.results] == ["miss", "miss", "miss"]
    # every call started before any call ended: they overlapped in time
    assert max(c.start for c in world.calls) < min(c.end for c in world.calls)
    assert all(c.body["signals"] == {"c_page": ["shoes"]} for c in world.calls)
    assert out.deadline_ms == 5000 and all(r.status in STATUSES for r in out.results)


def test_a_slow_provider_times_out_and_its_late_answer_fills_the_cache() -> None:
    world = World()
    world.reply("fast.test", lambda: answer("f"))
    world.reply("slow.test", lambda: answer("late"), delay_s=0.3)
    cfg = config(provider("fast", 1), provider("slow", 2, timeout_ms=2000), deadline_ms=50)

    async def body(e: Enricher) -> tuple[Outcome, Outcome]:
        first = await e.enrich(HIT)
        assert world.calls[1].end == 0.0  # still running when enrich returned
        while world.count("slow.test") == 1 and world.calls[1].end == 0.0:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.02)
        return first, await e.enrich(HIT)

    first, second = run(cfg, world, body)
    assert by_name(first)["fast"].status == "ok"
    assert by_name(first)["slow"].status == "timeout"
    assert by_name(first)["slow"].segments == ()
    slow = by_name(second)["slow"]
    assert (slow.status, slow.cache, [s.id for s in slow.segments]) == ("ok", "hit", ["late"])
    assert world.count("slow.test") == 1


def test_a_call_past_its_own_timeout_is_cancelled_and_counted() -> None:
    world = World()
    world.reply("hang.test", lambda: answer("never"), delay_s=30)
    cfg = config(provider("hang", 1, timeout_ms=100), deadline_ms=20)

    async def body(e: Enricher) -> tuple[Outcome, list[dict[str, object]]]:
        out = await e.enrich(HIT)
        while e.status()[0]["timeouts"] == 0:
            await asyncio.sleep(0.02)
        return out, e.status()

    out, status = run(cfg, world, body)
    assert out.results[0].status == "timeout"
    assert status[0]["calls"] == 1 and status[0]["timeouts"] == 1
    assert world.calls[0].end > 0  # the handler was cancelled, not left running


def test_required_providers_release_the_hit_without_waiting_for_others() -> None:
    world = World()
    world.reply("req.test", lambda: answer("r"), delay_s=0.03)
    world.reply("quick.test", lambda: answer("q"))
    world.reply("slow.test", lambda: answer("s"), delay_s=0.5)
    cfg = config(
        provider("req", 1, required=True),
        provider("quick", 2),
        provider("slow", 3, timeout_ms=2000),
        deadline_ms=2000,
    )

    async def body(e: Enricher) -> tuple[Outcome, bool]:
        out = await e.enrich(HIT)
        slow_call = next(c for c in world.calls if c.host == "slow.test")
        return out, slow_call.end == 0.0

    out, slow_still_running = run(cfg, world, body)
    got = {n: r.status for n, r in by_name(out).items()}
    assert got == {"req": "ok", "quick": "ok", "slow": "timeout"}
    assert slow_still_running


def test_without_required_providers_all_are_awaited() -> None:
    world = World()
    world.reply("a.test", lambda: answer("r"), delay_s=0.01)
    world.reply("slow.test", lambda: answer("s"), delay_s=0.1)
    cfg = config(provider("a", 1), provider("slow", 3, timeout_ms=2000), deadline_ms=2000)
    out = run(cfg, world, lambda e: e.enrich(HIT))
    assert [r.status for r in out.results] == ["ok", "ok"]


def test_a_required_provider_not_asked_does_not_release_the_hit() -> None:
    world = World()
    world.reply("a.test", lambda: answer("r"), delay_s=0.05)
    cfg = config(provider("req", 1, required=True, needs_dpuuid=True), provider("a", 2),
                 deadline_ms=2000)
    out = run(cfg, world, lambda e: e.enrich(HIT))
    assert [r.status for r in out.results] == ["skipped_dpuuid", "ok"]


def test_single_flight_across_concurrent_hits() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"), delay_s=0.05)
    world.reply("b.test", lambda: answer(), delay_s=0.05)
    cfg = config(provider("a", 1), provider("b", 2), deadline_ms=2000)

    async def body(e: Enricher) -> list[Outcome]:
        return list(await asyncio.gather(*(e.enrich(HIT) for _ in range(25))))

    outs = run(cfg, world, body)
    assert world.count("a.test") == 1 and world.count("b.test") == 1
    caches = sorted(o.results[0].cache for o in outs)
    assert caches == ["inflight"] * 24 + ["miss"]
    assert {o.results[0].status for o in outs} == {"ok"}
    assert {o.results[1].status for o in outs} == {"empty"}


def test_prefetch_then_enrich_uses_the_call_in_flight() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"), delay_s=0.05)
    cfg = config(provider("a", 1), deadline_ms=2000)

    async def body(e: Enricher) -> Outcome:
        e.prefetch(HIT)
        e.prefetch(HIT)  # a second prefetch joins too
        await asyncio.sleep(0)
        return await e.enrich(HIT)

    out = run(cfg, world, body)
    assert world.count("a.test") == 1
    assert (out.results[0].status, out.results[0].cache) == ("ok", "inflight")


def test_prefetch_respects_gates() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    cfg = config(provider("a", 1, needs_dpuuid=True), provider("b", 2), deadline_ms=2000)

    async def body(e: Enricher) -> None:
        e.disable("b")
        e.prefetch(HIT)
        e.prefetch(replace(HIT, opted_out=True, partner_ids={1: "dp"}))
        await asyncio.sleep(0.01)

    run(cfg, world, body)
    assert world.calls == []


BAD: dict[str, Callable[[], httpx.Response]] = {
    "e500": lambda: httpx.Response(500),
    "nojson": lambda: httpx.Response(200, text="<html>"),
    "huge": lambda: httpx.Response(200, content=b'{"segments": []' + b" " * 400_000 + b"}"),
    "types": lambda: httpx.Response(200, json={"segments": [{"id": 5.5}], "ttl_s": "x"}),
    "array": lambda: httpx.Response(200, json=[1, 2]),
}


def test_misbehaving_providers_never_fail_the_hit() -> None:
    world = World()
    for name, make in BAD.items():
        world.reply(f"{name}.test", make)

    async def refuse(_r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async def reset(_r: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection")

    async def bug(_r: httpx.Request) -> httpx.Response:
        raise RuntimeError("unexpected")

    world.on("refused.test", refuse)
    world.on("reset.test", reset)
    world.on("bug.test", bug)
    world.reply("good.test", lambda: answer("g"))
    names = [*BAD, "refused", "reset", "bug", "good"]
    cfg = config(*(provider(n, i) for i, n in enumerate(names, 1)), deadline_ms=2000)
    out = run(cfg, world, lambda e: e.enrich(HIT))
    got = {n: r.status for n, r in by_name(out).items()}
    assert got == {**{n: "error" for n in names[:-1]}, "good": "ok"}
    assert all(r.segments == () for r in out.results[:-1])


def test_consent_is_decided_per_provider() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    world.reply("b.test", lambda: answer("y"))
    tc = encode(TCString(purposes_consent=frozenset({1}), vendor_consents=frozenset({10})))
    cfg = config(provider("a", 1, tcf_vendor=10, tcf_purposes=(1,)),
                 provider("b", 2, tcf_vendor=20), deadline_ms=2000)
    out = run(cfg, world, lambda e: e.enrich(replace(HIT, gdpr=1, gdpr_consent=tc)))
    assert [r.status for r in out.results] == ["ok", "skipped_consent"]
    assert [c.host for c in world.calls] == ["a.test"]
    assert world.calls[0].body["consent"] == {"gdpr": 1, "gdpr_consent": tc}


@pytest.mark.parametrize("flag", ["opted_out", "coppa"])
def test_opted_out_and_coppa_hits_ask_nobody(flag: str) -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    cfg = config(provider("a", 1), provider("b", 2), deadline_ms=2000)
    hit = replace(HIT, opted_out=True) if flag == "opted_out" else replace(HIT, coppa=True)
    out = run(cfg, world, lambda e: e.enrich(hit))
    assert [(r.status, r.cache) for r in out.results] == [("skipped_consent", "none")] * 2
    assert world.calls == []


def test_needs_dpuuid() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    cfg = config(provider("a", 7, needs_dpuuid=True), deadline_ms=2000)

    async def body(e: Enricher) -> tuple[Outcome, Outcome]:
        return await e.enrich(HIT), await e.enrich(replace(HIT, partner_ids={7: "their-id"}))

    without, with_id = run(cfg, world, body)
    assert without.results[0].status == "skipped_dpuuid"
    assert with_id.results[0].status == "ok"
    assert world.calls[0].body["user"]["dpuuid"] == "their-id"


def test_disable_and_enable() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    cfg = config(provider("a", 1), deadline_ms=2000)

    async def body(e: Enricher) -> list[str]:
        e.disable("a")
        first = (await e.enrich(HIT)).results[0].status
        e.enable("a")
        second = (await e.enrich(HIT)).results[0].status
        with pytest.raises(KeyError):
            e.disable("nope")
        with pytest.raises(KeyError):
            e.enable("nope")
        return [first, second]

    assert run(cfg, world, body) == ["disabled", "ok"]
    assert world.count("a.test") == 1


def test_breaker_opens_probes_once_and_recovers() -> None:
    world = World()
    healthy = {"ok": False}
    world.reply("a.test", lambda: answer("x") if healthy["ok"] else httpx.Response(503))
    p = provider("a", 1, error_ttl_s=0, stale_if_error_s=0,
                 breaker=BreakerConfig(failures=2, window_s=60, open_s=10))
    cfg = config(p, deadline_ms=2000)
    clock = FakeClock()

    async def body(e: Enricher) -> list[tuple[str, float, object]]:
        seen = []
        for step in range(5):
            if step == 3:
                clock.advance(10)
                healthy["ok"] = True
            r = (await e.enrich(HIT)).results[0]
            seen.append((r.status, r.ms, e.status()[0]["breaker"]))
            if step == 3:
                e.clear_cache(UUID)
        return seen

    seen = run(cfg, world, body, clock)
    assert [s[0] for s in seen] == ["error", "error", "breaker_open", "ok", "ok"]
    assert seen[2][1] == 0.0
    assert [s[2] for s in seen] == ["closed", "open", "open", "closed", "closed"]
    assert world.count("a.test") == 4  # no call while open


def test_half_open_lets_one_probe_through_for_concurrent_hits() -> None:
    world = World()
    world.reply("a.test", lambda: httpx.Response(503), delay_s=0.02)
    p = provider("a", 1, error_ttl_s=0, breaker=BreakerConfig(failures=1, window_s=60, open_s=5))
    clock = FakeClock()

    async def body(e: Enricher) -> list[str]:
        await e.enrich(HIT)  # opens it
        clock.advance(5)
        others = [replace(HIT, uuid=str(10**37 + i)) for i in range(5)]
        outs = await asyncio.gather(*(e.enrich(h) for h in others))
        return sorted(o.results[0].status for o in outs)

    statuses = run(config(p, deadline_ms=2000), world, body, clock)
    assert statuses == ["breaker_open"] * 4 + ["error"]
    assert world.count("a.test") == 2


def test_stale_if_error_serves_the_last_good_answer() -> None:
    world = World()
    state = {"up": True}
    world.reply("a.test", lambda: answer("kept", ttl_s=10) if state["up"] else httpx.Response(500))
    cfg = config(provider("a", 1, stale_if_error_s=60), deadline_ms=2000)
    clock = FakeClock()

    async def body(e: Enricher) -> list[tuple[str, str, list[str]]]:
        out: list[tuple[str, str, list[str]]] = []
        for advance in (0, 11, 0, 100):
            clock.advance(advance)
            state["up"] = advance == 0 and not out
            r = (await e.enrich(HIT)).results[0]
            out.append((r.status, r.cache, [s.id for s in r.segments]))
        return out

    got = run(cfg, world, body, clock)
    assert got == [
        ("ok", "miss", ["kept"]),
        ("ok", "stale", ["kept"]),  # refresh failed: served stale
        ("ok", "stale", ["kept"]),  # failure remembered (error TTL): still stale, no call
        ("error", "miss", []),  # past the stale window
    ]
    assert world.count("a.test") == 3


def test_cache_key_includes_consent_and_clear_cache_forgets_a_visitor() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    cfg = config(provider("a", 1), deadline_ms=2000)

    async def body(e: Enricher) -> list[str]:
        caches = [(await e.enrich(HIT)).results[0].cache]
        caches.append((await e.enrich(HIT)).results[0].cache)
        caches.append((await e.enrich(replace(HIT, gdpr=0))).results[0].cache)
        assert e.clear_cache(UUID) == 2
        caches.append((await e.enrich(HIT)).results[0].cache)
        return caches

    assert run(cfg, world, body) == ["miss", "hit", "miss", "miss"]
    assert world.count("a.test") == 3


def test_status_and_metrics() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    world.reply("b.test", lambda: httpx.Response(500))
    cfg = config(provider("a", 1), provider("b", 2), deadline_ms=2000)

    async def body(e: Enricher) -> tuple[list[dict[str, object]], Any]:
        await e.enrich(HIT)
        await e.enrich(HIT)
        return e.status(), e.registry

    status, reg = run(cfg, world, body)
    a, b = status
    assert (a["name"], a["calls"], a["ok"], a["errors"], a["cache_hit_rate"]) == ("a", 1, 1, 0, 0.5)
    assert (b["calls"], b["errors"], b["breaker"], b["disabled"]) == (1, 1, "closed", False)
    assert isinstance(a["p50_ms"], float) and isinstance(a["p95_ms"], float)
    sample = reg.get_sample_value
    assert sample("edge_provider_calls_total", {"provider": "a", "outcome": "ok"}) == 1
    assert sample("edge_provider_calls_total", {"provider": "b", "outcome": "error"}) == 1
    assert sample("edge_provider_latency_seconds_count", {"provider": "a"}) == 1
    assert sample("edge_provider_cache_total", {"provider": "a", "result": "hit"}) == 1
    assert sample("edge_provider_results_total",
                  {"provider": "b", "status": "error", "cache": "hit"}) == 1
    assert sample("edge_provider_breaker_state", {"provider": "a"}) == 0


def test_each_enricher_has_its_own_registry() -> None:
    cfg = config(provider("a", 1))
    assert Enricher(cfg).registry is not Enricher(cfg).registry


def test_eviction_metric() -> None:
    world = World()
    world.reply("a.test", lambda: answer("x"))
    cfg = config(provider("a", 1), deadline_ms=2000, cache_entries=2)

    async def body(e: Enricher) -> Any:
        for i in range(5):
            await e.enrich(replace(HIT, uuid=str(10**37 + i)))
        return e.registry.get_sample_value("edge_cache_evictions_total")

    assert run(cfg, world, body) == 3


def test_owned_client_is_created_lazily_and_closed() -> None:
    async def main() -> bool:
        e = Enricher(config(provider("a", 1)))
        http = e.http
        assert e.http is http
        await e.aclose()
        return http.is_closed

    assert asyncio.run(main())


def test_stale_answer_when_the_refresh_misses_the_deadline() -> None:
    world = World()
    delay = {"s": 0.0}

    async def handler(_r: httpx.Request) -> httpx.Response:
        await asyncio.sleep(delay["s"])
        return answer("kept", ttl_s=10)

    world.on("a.test", handler)
    cfg = config(provider("a", 1, timeout_ms=2000), deadline_ms=30)
    clock = FakeClock()

    async def body(e: Enricher) -> list[tuple[str, str]]:
        first = (await e.enrich(HIT)).results[0]
        clock.advance(11)
        delay["s"] = 0.5
        second = (await e.enrich(HIT)).results[0]
        return [(first.status, first.cache), (second.status, second.cache)]

    assert run(cfg, world, body, clock) == [("ok", "miss"), ("ok", "stale")]


def test_cached_shows_the_answers_without_counting_lookups() -> None:
    world = World()
    world.reply("a.test", lambda: answer("s"))
    cfg = config(provider("a", 1), deadline_ms=2000)

    async def body(e: Enricher) -> None:
        await e.enrich(HIT)
        before = e.status()[0]
        looks = e.cached(HIT.uuid)
        assert [s.id for s in looks["a"].fresh.segments] == ["s"]  # type: ignore[union-attr]
        assert e.cached("9" * 38)["a"].fresh is None
        assert e.status()[0] == before  # not counted as cache hits or misses

    run(cfg, world, body)


def test_a_cached_answer_gives_the_same_result_until_it_is_refreshed() -> None:
    """Hits that find an answer cached share one result (and its JSON); a refreshed answer,
    after the TTL, gives a new result with the new segments."""
    world = World()
    answers = iter(["first", "second"])
    world.reply("a.test", lambda: answer(next(answers)))
    cfg = config(provider("a", 1, ttl_s=60), deadline_ms=2000)
    clock = FakeClock()

    async def body(e: Enricher) -> list[Any]:
        seen = [(await e.enrich(HIT)).results[0] for _ in range(3)]
        clock.advance(61)
        seen.append((await e.enrich(HIT)).results[0])  # expired: a new call
        seen.append((await e.enrich(HIT)).results[0])
        return seen

    miss, hit1, hit2, refresh, hit3 = run(cfg, world, body, clock)
    assert (miss.cache, hit1.cache, refresh.cache, hit3.cache) == ("miss", "hit", "miss", "hit")
    assert hit1 is hit2 and hit1.json is hit2.json
    assert [s.id for s in hit1.segments] == ["first"]
    assert hit3 is not hit1 and [s.id for s in hit3.segments] == ["second"]
    assert world.count("a.test") == 2


def test_a_reloaded_enricher_carries_breakers_stats_disabled_and_cache() -> None:
    world = World()
    world.reply("a.test", lambda: httpx.Response(503))
    world.reply("b.test", lambda: answer("b"))
    tight = BreakerConfig(failures=1, window_s=60, open_s=60)
    cfg = config(provider("a", 1, breaker=tight, error_ttl_s=0, stale_if_error_s=0),
                 provider("b", 2), provider("c", 3), deadline_ms=2000)

    async def body(e: Enricher) -> tuple[Any, ...]:
        await e.enrich(HIT)  # a fails (breaker opens), b answers (cached)
        e.disable("c")
        same = Enricher(cfg, client=world.client(), previous=e)
        kept = by_name(await same.enrich(HIT))
        other_breaker = replace(cfg, providers=(
            provider("a", 1, error_ttl_s=0, stale_if_error_s=0), provider("b", 2)))
        changed = Enricher(other_breaker, client=world.client(), previous=same)
        after = await changed.enrich(HIT)
        state = changed.registry.get_sample_value
        return (kept, {r.name: r.status for r in after.results}, changed.status(),
                state("edge_provider_breaker_state", {"provider": "c"}), world.count("b.test"))

    kept, after, status, c_gauge, b_calls = run(cfg, world, body)
    assert (kept["a"].status, kept["b"].cache, kept["c"].status) == (
        "breaker_open", "hit", "disabled")
    assert after == {"a": "error", "b": "ok"}  # new breaker settings: a closed breaker, asked
    assert status[1]["calls"] == 1 and status[1]["ok"] == 1  # b's stats carried over
    assert c_gauge is None  # c is gone from the config: its breaker gauge too
    assert b_calls == 1


def _sequence(*steps: Callable[[], httpx.Response]) -> Callable[[httpx.Request], Awaitable[Any]]:
    """A provider handler that takes the next step per call (the last one repeats); a step
    may raise, as a failing network does."""
    calls = iter(range(10**6))

    async def handler(_req: httpx.Request) -> httpx.Response:
        return steps[min(next(calls), len(steps) - 1)]()

    return handler


def _refused() -> httpx.Response:
    raise httpx.ConnectError("connection refused")


@pytest.mark.parametrize(
    ("retries", "first", "then", "status", "calls", "retried"),
    [
        pytest.param(1, lambda: httpx.Response(503), lambda: answer("s"), "ok", 2, 1, id="503"),
        pytest.param(1, _refused, lambda: answer("s"), "ok", 2, 1, id="refused"),
        pytest.param(2, lambda: httpx.Response(502), lambda: httpx.Response(504), "error", 3, 2,
                     id="every-try-fails"),
        pytest.param(0, lambda: httpx.Response(503), lambda: answer("s"), "error", 1, 0,
                     id="no-retries"),
        pytest.param(2, lambda: httpx.Response(500), lambda: answer("s"), "error", 1, 0,
                     id="500-not-retried"),
        pytest.param(2, lambda: httpx.Response(200, content=b"{oops"), lambda: answer("s"),
                     "error", 1, 0, id="bad-answer-not-retried"),
    ],
)
def test_retries_after_network_errors_and_gateway_statuses(
    retries: int, first: Callable[[], httpx.Response], then: Callable[[], httpx.Response],
    status: str, calls: int, retried: int,
) -> None:
    world = World()
    world.on("a.test", _sequence(first, then))
    cfg = config(provider("a", 1, retries=retries, timeout_ms=2000), deadline_ms=2000)

    async def body(e: Enricher) -> tuple[Any, Any, list[dict[str, object]]]:
        return (await e.enrich(HIT)).results[0], e.registry.get_sample_value, e.status()

    result, sample, stats = run(cfg, world, body)
    assert result.status == status and world.count("a.test") == calls
    assert (sample("edge_provider_retries_total", {"provider": "a"}) or 0) == retried
    assert stats[0]["calls"] == 1  # one call, however many tries


def test_retries_are_bounded_to_three() -> None:
    from edge import config as edge_config

    text = ('secret = "0123456789abcdef0123"\n[[providers]]\nname = "a"\ndpid = 1\n'
            'url = "http://a.test/v1"\nretries = 4\n')
    with pytest.raises(edge_config.ConfigError, match=r"providers\[0\]\.retries: at most 3"):
        edge_config.parse(text)


def test_sale_providers_are_not_asked_after_an_opt_out_of_sale() -> None:
    world = World()
    world.reply("a.test", lambda: answer("a"))
    world.reply("b.test", lambda: answer("b"))
    cfg = config(provider("a", 1, sale=True), provider("b", 2), deadline_ms=2000)

    async def body(e: Enricher) -> tuple[dict[str, str], dict[str, str]]:
        out = await e.enrich(replace(HIT, sale_opt_out=True))
        other = await e.enrich(replace(HIT, uuid=UUID[:-1] + "3"))
        return ({r.name: r.status for r in out.results},
                {r.name: r.status for r in other.results})

    opted_out, not_opted_out = run(cfg, world, body)
    assert opted_out == {"a": "skipped_consent", "b": "ok"}
    assert not_opted_out == {"a": "ok", "b": "ok"}
    assert world.count("a.test") == 1
