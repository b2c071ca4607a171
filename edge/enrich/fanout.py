"""The fan-out: ask every eligible provider about one hit, concurrently, under one deadline.

``Enricher.enrich(hit)`` decides per provider, in this order: ``disabled``; opted-out or
COPPA hits, unmet TCF consent, and ``sale`` providers for a visitor who opted out of sale
(``us_privacy``, Global Privacy Control) -> ``skipped_consent``; ``needs_dpuuid`` without a partner
id -> ``skipped_dpuuid``; a fresh cache entry -> its answer (cache ``hit``); a call already in
flight for the same key -> wait on it (cache ``inflight``); a recently failed call -> ``error``
(cache ``hit``); an open breaker -> ``breaker_open`` (0 ms, no call); else a new call
(cache ``miss``). When a call fails, misses the deadline, is refused by the breaker or is
remembered as failing, the last good answer within ``stale_if_error_s`` of its expiry is served
instead (``ok``/``empty``, cache ``stale``).

Deadline: each wait is bounded by ``min(provider timeout_ms, time left)``. With ``required``
providers among the eligible ones, ``enrich`` returns once all required ones are done (or at
the deadline), with whatever else is done by then; otherwise when all are done or at the
deadline. Providers not done are reported as ``timeout``; their shared calls go on in the
background, bounded by the provider's own ``timeout_ms``, and fill the cache.

Errors: ``enrich`` never raises because of a provider; ``disable``/``enable`` raise KeyError
for an unknown provider name. ``prefetch`` must be called from the running event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import httpx
import lru

from edge.config import Config, ProviderConfig
from edge.contracts.envelope import ProviderResult
from edge.contracts.provider_protocol import Answer
from edge.enrich import cache as cache_mod
from edge.enrich.breaker import Breaker
from edge.enrich.cache import Cache, Lookup
from edge.enrich.client import (
    USER_AGENT,
    ProviderClient,
    ProviderError,
    ProviderFailed,
    ProviderRequest,
    ProviderTimeout,
)
from edge.enrich.consent import TCString, allowed, fingerprint, parse_or_none
from edge.enrich.identity import Visitor, VisitorLookup, budget_s
from edge.enrich.metrics import Metrics, ProviderStats
from edge.enrich.shared import SharedCache
from edge.enrich.singleflight import SingleFlight
from edge.enrich.transport import LeanTransport

log = logging.getLogger(__name__)

# Results of cached answers kept for reuse: for the visitors seen most recently.
_HIT_RESULTS = 2048
# A retry needs at least this much of the provider's timeout left to be worth starting.
_MIN_TRY_S = 0.002
# Statuses of providers not asked at all for a hit: they do not count as required.
_GATED = frozenset({"disabled", "skipped_consent", "skipped_dpuuid"})


@dataclass(frozen=True)
class Hit:
    uuid: str
    signals: Mapping[str, tuple[str, ...]]  # c_/d_/h_ keys etc. (p_ never forwarded)
    gdpr: int | None = None
    gdpr_consent: str | None = None
    coppa: bool = False
    opted_out: bool = False
    partner_ids: Mapping[int, str] = field(default_factory=dict)  # dpid -> dpuuid
    sale_opt_out: bool = False  # us_privacy opt-out or Global Privacy Control


@dataclass(frozen=True)
class Outcome:
    results: tuple[ProviderResult, ...]
    elapsed_ms: float
    deadline_ms: int


@dataclass(frozen=True)
class _CallResult:
    answer: Answer | None
    error: ProviderError | None
    ms: float
    shared: bool = False  # the answer came from the shared cache, not the provider


@dataclass
class _Provider:
    config: ProviderConfig
    client: ProviderClient
    breaker: Breaker
    stats: ProviderStats = field(default_factory=ProviderStats)


@dataclass(frozen=True)
class _Join:
    """A provider whose answer comes from a shared call."""

    task: asyncio.Task[_CallResult]
    joined: bool
    stale: Answer | None


class Enricher:
    def __init__(
        self,
        config: Config,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        previous: Enricher | None = None,
    ) -> None:
        """`previous`: the Enricher this one replaces after a config reload. Its cache (resized
        to the new ``cache_entries``), its metrics, its own client and, for providers that
        keep their name, their breaker (when its settings are unchanged), stats and disabled
        state carry over; ``previous.retire()`` then lets it finish what it has in flight."""
        self.config = config
        self._clock = clock
        self._http = client
        self._owns_http = client is None
        # provider calls go straight to the own client's transport (see edge/enrich/client.py)
        self._transport: httpx.AsyncBaseTransport | None = None
        self.metrics: Metrics
        self._cache: Cache
        if previous is not None:
            self.metrics = previous.metrics
            self._cache = previous._cache
            self._cache.resize(config.edge.cache_entries)
            if client is None and previous._owns_http and previous._http is not None:
                self._http, self._transport = previous._http, previous._transport
                previous._owns_http = False  # handed over: retiring it leaves the client open
        else:
            self.metrics = Metrics()
            self._cache = Cache(
                config.edge.cache_entries, clock=clock, on_evict=self.metrics.evictions.inc
            )
        self.registry = self.metrics.registry
        self._flight: SingleFlight[str, _CallResult] = SingleFlight()
        # bounded small: its objects are tracked by the garbage collector (see cache.py)
        self._hit_results: lru.LRU[int, tuple[Answer, _Provider, ProviderResult]] = lru.LRU(
            _HIT_RESULTS
        )
        self._providers: dict[str, _Provider] = {}
        old = previous._providers if previous is not None else {}
        for p in config.providers:
            was = old.get(p.name)
            if was is not None and was.config.breaker == p.breaker:
                breaker = was.breaker
            else:
                on_change = partial(self.metrics.set_breaker, p.name)
                breaker = Breaker(p.breaker, clock=clock, on_change=on_change)
                self.metrics.set_breaker(p.name, "closed")
            stats = was.stats if was is not None else ProviderStats()
            self._providers[p.name] = _Provider(p, ProviderClient(p), breaker, stats)
        for name in old.keys() - self._providers.keys():
            self.metrics.forget_provider(name)
        self._disabled: set[str] = (
            previous._disabled & self._providers.keys() if previous is not None else set()
        )
        self.identity = VisitorLookup(
            config.edge.dcs, config.secret, ttl_s=config.edge.dpuuid_cache_s, clock=clock,
            tenant=config.tenant,
        )
        self._shared = self._shared_cache(config, clock, previous)

    def _shared_cache(
        self, config: Config, clock: Callable[[], float], previous: Enricher | None
    ) -> SharedCache | None:
        """The shared answer cache of ``edge.shared_cache`` (the previous Enricher's, when a
        reload kept its settings), or None."""
        url = config.edge.shared_cache
        if url is None:
            return None
        timeout_s = config.edge.shared_cache_timeout_ms / 1000
        was = previous._shared if previous is not None else None
        if was is not None and was.settings == (url, config.tenant, timeout_s):
            previous._shared = None  # type: ignore[union-attr]  # handed over: not closed there
            return was
        return SharedCache(url, tenant=config.tenant, timeout_s=timeout_s, clock=clock,
                           on_result=self.metrics.shared.inc)

    # -- public surface --------------------------------------------------------------------

    async def enrich(self, hit: Hit) -> Outcome:
        """Every provider's result for `hit`, within the deadline; never raises for providers."""
        start = self._clock()
        deadline_ms = self.config.edge.deadline_ms
        tc = parse_or_none(hit.gdpr_consent) if hit.gdpr == 1 else None
        vk = cache_mod.visitor_key(hit.uuid, fingerprint(hit.gdpr, hit.gdpr_consent))
        results: dict[str, ProviderResult] = {}
        waiters: dict[str, tuple[asyncio.Task[ProviderResult], _Join]] = {}
        any_required = False
        loop: asyncio.AbstractEventLoop | None = None
        deadline_at = 0.0
        for name, p in self._providers.items():
            k = cache_mod.provider_key(name, vk)
            plan: ProviderResult | _Join | Lookup = self._cached(p, hit, tc, k)
            if isinstance(plan, Lookup):  # a call to start or to join: the clock matters now
                if loop is None:
                    loop = asyncio.get_running_loop()
                    deadline_at = loop.time() + deadline_ms / 1000
                left = deadline_at - loop.time()
                plan = self._plan(p, hit, k, plan, int(min(p.config.timeout_ms, left * 1000)))
            if isinstance(plan, ProviderResult):
                results[name] = plan
                gated = plan.status in _GATED
            else:
                assert loop is not None
                wait_s = min(p.config.timeout_ms / 1000, deadline_at - loop.time())
                task = loop.create_task(self._wait(p, plan, wait_s))
                waiters[name] = (task, plan)
                gated = False
            any_required = any_required or (p.config.required and not gated)
        if waiters:
            assert loop is not None
            await self._join(waiters, any_required, deadline_at - loop.time())
            for name, (task, join) in waiters.items():
                results[name] = self._collect(self._providers[name], task, join, start)
        ordered = tuple(results[name] for name in self._providers)
        count = self.metrics.results.inc
        for r in ordered:
            count(r.name, r.status, r.cache)
        elapsed_s = self._clock() - start
        self.metrics.enrich.observe(elapsed_s)
        return Outcome(ordered, elapsed_s * 1000, deadline_ms)

    def prefetch(self, hit: Hit) -> None:
        """Start the calls `hit` will need (no waiting), so a later enrich() finds them."""
        tc = parse_or_none(hit.gdpr_consent) if hit.gdpr == 1 else None
        vk = cache_mod.visitor_key(hit.uuid, fingerprint(hit.gdpr, hit.gdpr_consent))
        for p in self._providers.values():
            if self._gate(p, hit, tc) is not None:
                continue
            k = cache_mod.provider_key(p.config.name, vk)
            look = self._cache.lookup(k, count=False)
            if look.fresh is not None or look.failing or self._flight.get(k) is not None:
                continue
            if p.breaker.allow():
                self._start(p, k, hit, p.config.timeout_ms)

    async def identify(self, *, uuid: str | None = None, mid: str | None = None) -> Visitor | None:
        """The DCS's view of a visitor (partner ids, opt-out), within the identity budget."""
        budget = budget_s(self.config.edge.deadline_ms)
        return await self.identity.lookup(self.http, uuid=uuid, mid=mid, budget_s=budget)

    def disable(self, name: str) -> None:
        self._providers[name]  # noqa: B018 - KeyError for an unknown provider
        self._disabled.add(name)

    def enable(self, name: str) -> None:
        self._providers[name]  # noqa: B018 - KeyError for an unknown provider
        self._disabled.discard(name)

    def cached(
        self, uuid: str, gdpr: int | None = None, gdpr_consent: str | None = None
    ) -> dict[str, Lookup]:
        """What the cache holds for a visitor under a consent, per provider (not counted as
        lookups): for the debugging commands."""
        fp = fingerprint(gdpr, gdpr_consent)
        return {
            name: self._cache.lookup(cache_mod.key(name, uuid, fp), count=False)
            for name in self._providers
        }

    def clear_cache(self, uuid: str) -> int:
        """Forget one visitor's cached answers (and identity); the number of entries removed."""
        self.identity.forget(uuid)
        return self._cache.clear(uuid)

    def status(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for name, p in self._providers.items():
            row: dict[str, object] = {
                "name": name,
                "dpid": p.config.dpid,
                "required": p.config.required,
                "disabled": name in self._disabled,
                "breaker": p.breaker.state,
            }
            row.update(p.stats.summary())
            out.append(row)
        return out

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared client, created on first use (inside the running loop)."""
        if self._http is None:
            n = max(1, len(self._providers))
            limits = httpx.Limits(
                max_connections=64 * n + 16,
                max_keepalive_connections=16 * n + 8,
                # below the common 5 s server idle timeout: a connection the provider
                # already closed is never reused (that would fail the call)
                keepalive_expiry=4.0,
            )
            # plain-http calls skip httpcore (a measured CPU cost); https goes through it
            self._transport = LeanTransport(limits=limits)
            self._http = httpx.AsyncClient(
                transport=self._transport,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
            )
        return self._http

    async def retire(self) -> None:
        """After a reload: let the calls in flight finish (each is bounded by its provider's
        timeout; their answers fill the shared cache), then close."""
        longest = max((p.config.timeout_ms for p in self._providers.values()), default=0)
        await asyncio.sleep(longest / 1000 + 0.1)
        await self.aclose()

    async def aclose(self) -> None:
        await self._flight.cancel_all()
        await self.identity.aclose()
        if self._shared is not None:
            await self._shared.aclose()
            self._shared = None
        if self._owns_http and self._http is not None:
            await self._http.aclose()  # closes its transport too
            self._http = None
            self._transport = None

    # -- decisions -------------------------------------------------------------------------

    def _gate(self, p: _Provider, hit: Hit, tc: TCString | None) -> str | None:
        """Why `p` must not be asked about `hit` (a status), or None."""
        if p.config.name in self._disabled:
            return "disabled"
        if hit.opted_out or hit.coppa or not allowed(p.config, hit.gdpr, tc):
            return "skipped_consent"
        if hit.sale_opt_out and p.config.sale:
            return "skipped_consent"
        if p.config.needs_dpuuid and not hit.partner_ids.get(p.config.dpid):
            return "skipped_dpuuid"
        return None

    def _cached(
        self, p: _Provider, hit: Hit, tc: TCString | None, k: str
    ) -> ProviderResult | Lookup:
        """The result of `p` that needs no call (gated, or a fresh cache entry at key `k`),
        else the cache's lookup for ``_plan`` (which counts it)."""
        skip = self._gate(p, hit, tc)
        if skip is not None:
            return self._result(p, skip, 0.0, cache="none")
        look = self._cache.lookup(k, count=False)
        if look.fresh is None:
            return look
        self._count(p, True)
        # The result of a cached answer is the same on every hit that finds it: made once
        # (with its JSON) and reused while the answer is cached. Keyed by the answer's id,
        # which cannot be reused while the memo holds the answer itself.
        memo = self._hit_results.get(id(look.fresh))
        if memo is not None and memo[0] is look.fresh and memo[1] is p:
            return memo[2]
        result = self._answered(p, look.fresh, 0.0, "hit")
        self._hit_results[id(look.fresh)] = (look.fresh, p, result)
        return result

    def _plan(
        self, p: _Provider, hit: Hit, k: str, look: Lookup, deadline_ms: int
    ) -> ProviderResult | _Join:
        """For a provider without a fresh answer (`look`, from ``_cached``): join a call in
        flight, remember a recent failure, respect the breaker, or start a call."""
        self._count(p, look.failing)
        task = self._flight.get(k)
        if task is not None:
            return _Join(task, True, look.stale)
        if look.failing:
            return self._fallback(p, look.stale, "error", 0.0, "hit")
        if not p.breaker.allow():
            return self._fallback(p, look.stale, "breaker_open", 0.0, "none")
        return _Join(self._start(p, k, hit, deadline_ms), False, look.stale)

    def _count(self, p: _Provider, hit: bool) -> None:
        """One cache lookup of `p`: a hit (fresh or a remembered failure) or a miss."""
        if hit:
            p.stats.cache_hits += 1
        else:
            p.stats.cache_misses += 1
        self._cache.counted(hit)
        self.metrics.cache.inc(p.config.name, "hit" if hit else "miss")

    def _result(
        self, p: _Provider, status: str, ms: float, *, cache: str, answer: Answer | None = None
    ) -> ProviderResult:
        segments = answer.segments if answer is not None else ()
        return ProviderResult(p.config.name, p.config.dpid, status, ms, segments, cache)

    def _answered(self, p: _Provider, answer: Answer, ms: float, cache: str) -> ProviderResult:
        status = "empty" if answer.empty else "ok"
        return self._result(p, status, ms, cache=cache, answer=answer)

    def _fallback(
        self, p: _Provider, stale: Answer | None, status: str, ms: float, cache: str
    ) -> ProviderResult:
        """The stale answer when there is one (stale-if-error), else `status`."""
        if stale is None:
            return self._result(p, status, ms, cache=cache)
        self._cache.served_stale()
        self.metrics.cache.inc(p.config.name, "stale")
        return self._answered(p, stale, ms, "stale")

    # -- calls -----------------------------------------------------------------------------

    def _start(self, p: _Provider, k: str, hit: Hit, deadline_ms: int) -> asyncio.Task[_CallResult]:
        req = ProviderRequest(
            uuid=hit.uuid,
            dpuuid=hit.partner_ids.get(p.config.dpid),
            signals=hit.signals,
            gdpr=hit.gdpr,
            gdpr_consent=hit.gdpr_consent,
            deadline_ms=max(1, deadline_ms),
        )
        task, _ = self._flight.start(k, lambda: self._call(p, k, hit.uuid, req))
        return task

    async def _call(self, p: _Provider, k: str, uuid: str, req: ProviderRequest) -> _CallResult:
        """The shared call: bounded by the provider's own timeout; records its outcome."""
        t0 = self._clock()
        timeout_s = p.config.timeout_ms / 1000
        if self._shared is not None:
            found = await self._shared.get(p.config.name, k, timeout_s)
            if found is not None:  # another edge process (or this one) asked recently
                self._cache.put(k, uuid, found[0], p.config)  # for what is left of its TTL
                return _CallResult(found[0], None, (self._clock() - t0) * 1000, shared=True)
            timeout_s = max(0.001, timeout_s - (self._clock() - t0))
        answer: Answer | None = None
        error: ProviderError | None = None
        try:
            client = self.http  # made on first use, with its transport
            sender = self._transport if self._transport is not None else client
            end = self._clock() + timeout_s
            for tries_left in range(p.config.retries, -1, -1):
                try:
                    answer = await p.client.fetch(sender, req, timeout_s)
                    break
                except ProviderFailed as e:
                    timeout_s = end - self._clock()
                    if not (e.retryable and tries_left and timeout_s > _MIN_TRY_S):
                        raise
                    self.metrics.retries.inc(p.config.name)
        except ProviderError as e:
            error = e
        except asyncio.CancelledError:
            p.breaker.abandon()
            raise
        except Exception as e:  # a bug in a call must not fail the hit
            log.exception("provider %s: unexpected error", p.config.name)
            error = ProviderFailed(f"{p.config.name}: unexpected {type(e).__name__}")
        ms = (self._clock() - t0) * 1000
        self._record(p, k, uuid, answer, error, ms)
        return _CallResult(answer, error, ms)

    def _record(
        self, p: _Provider, k: str, uuid: str, answer: Answer | None,
        error: ProviderError | None, ms: float,
    ) -> None:
        if answer is not None:
            p.breaker.success()
            self._cache.put(k, uuid, answer, p.config)
            if self._shared is not None:
                self._shared.put(p.config.name, k, answer, cache_mod.ttl_for(answer, p.config))
            outcome = "empty" if answer.empty else "ok"
        else:
            p.breaker.failure()
            self._cache.put_error(k, uuid, p.config)
            outcome = "timeout" if isinstance(error, ProviderTimeout) else "error"
        p.stats.call(outcome, ms)
        self.metrics.calls.inc(p.config.name, outcome)
        self.metrics.child(self.metrics.latency, p.config.name).observe(ms / 1000)

    async def _wait(self, p: _Provider, join: _Join, wait_s: float) -> ProviderResult:
        t0 = self._clock()
        cache = "inflight" if join.joined else "miss"
        try:
            res = await self._flight.wait(join.task, wait_s)
        except TimeoutError:
            return self._fallback(p, join.stale, "timeout", (self._clock() - t0) * 1000, cache)
        ms = (self._clock() - t0) * 1000
        if res.answer is not None:
            return self._answered(p, res.answer, ms, "shared" if res.shared else cache)
        status = "timeout" if isinstance(res.error, ProviderTimeout) else "error"
        return self._fallback(p, join.stale, status, ms, cache)

    async def _join(
        self,
        waiters: Mapping[str, tuple[asyncio.Task[ProviderResult], _Join]],
        any_required: bool,
        left: float,
    ) -> None:
        """Wait for the required waiters (when an eligible provider is required) or for all,
        at most `left` seconds."""
        if any_required:
            awaited = [t for n, (t, _) in waiters.items() if self._providers[n].config.required]
        else:
            awaited = [t for t, _ in waiters.values()]
        if awaited and left > 0:
            await asyncio.wait(awaited, timeout=left)

    def _collect(
        self, p: _Provider, task: asyncio.Task[ProviderResult], join: _Join, start: float
    ) -> ProviderResult:
        if not task.done():
            task.cancel()  # ends this wait only; the shared call goes on and fills the cache
            cache = "inflight" if join.joined else "miss"
            return self._fallback(p, join.stale, "timeout", (self._clock() - start) * 1000, cache)
        if task.cancelled() or task.exception() is not None:
            log.error("provider %s: waiter failed: %r", p.config.name, task)
            return self._result(p, "error", (self._clock() - start) * 1000, cache="none")
        return task.result()
