"""Enrichment metrics: Prometheus collectors in a per-Enricher registry, and per-provider stats.

Prometheus (all in ``Metrics.registry``, so each Enricher, and each test, is isolated):
- ``edge_provider_calls_total{provider, outcome}``: provider calls made (outcome: ok, empty,
  error, timeout).
- ``edge_provider_latency_seconds{provider}``: call latency, buckets from 1 ms to 200 ms (and
  a few beyond).
- ``edge_provider_results_total{provider, status, cache}``: per-hit results, skipped ones too.
- ``edge_provider_cache_total{provider, result}``: cache lookups (hit, miss, stale).
- ``edge_cache_evictions_total``: entries evicted from the full cache.
- ``edge_provider_breaker_state{provider}``: 0 closed, 1 half-open, 2 open.
- ``edge_enrich_duration_seconds``: the fan-out's time per event hit (a histogram).
- ``edge_shared_cache_total{provider, result}``: shared cache lookups and writes.
- ``edge_provider_retries_total{provider}``: calls tried again (``retries``).

``EdgeMetrics`` (one per edge, whatever the tenants): ``edge_requests_total{route}``,
``edge_fail_open_total{route}`` and ``edge_dcs_up``. ``Exposition`` is what the admin port
serves: the edge's metrics and every tenant's, with a ``tenant`` label when there are tenants.

The per-hit counters (calls, results, cache lookups, requests) are ``HotCounter``s and the
fan-out histogram a ``HotHistogram``: plain numbers updated on the hot path and exported as
Prometheus metrics when the registry is scraped. A ``prometheus_client.Counter`` takes a lock
and checks its state on every increment, which cost about 3 us each, six or more times per hit.

``ProviderStats`` keeps the small summary behind ``Enricher.status()``: counts and recent
latencies (a bounded window) for p50/p95.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.5, 1.0)
ENRICH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15,
                  0.2, 0.5)
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}
_WINDOW = 1024


class HotCounter(Collector):
    """A labelled counter for the hot path: ``inc(*labels)`` is a dict update; the values are
    exported as a Prometheus counter (``<name>_total``) at scrape time. Label values must be
    given in the order of ``labelnames``. Scrapes run in another thread: they read a snapshot
    (``list(dict.items())`` runs under the GIL in one step)."""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...],
                 registry: CollectorRegistry) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, labelnames
        self.values: dict[tuple[str, ...], int] = {}
        registry.register(self)

    def inc(self, *labels: str) -> None:
        values = self.values
        values[labels] = values.get(labels, 0) + 1

    def value(self, *labels: str) -> int:
        return self.values.get(labels, 0)

    def describe(self) -> list[CounterMetricFamily]:
        return [CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in list(self.values.items()):
            family.add_metric(labels, value)
        yield family


class HotHistogram(Collector):
    """An unlabelled histogram for the hot path: ``observe(v)`` is a bisect and two additions;
    exported as a Prometheus histogram at scrape time (buckets are upper bounds, ``le``)."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...],
                 registry: CollectorRegistry) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = tuple(sorted(float(b) for b in buckets))
        self.counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound
        self.sum = 0.0
        registry.register(self)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def describe(self) -> list[HistogramMetricFamily]:
        return [HistogramMetricFamily(self.name, self.documentation)]

    def collect(self) -> Iterator[HistogramMetricFamily]:
        counts, total = list(self.counts), self.sum
        buckets: list[tuple[str, float]] = []
        cumulative = 0
        for bound, n in zip((*self.bounds, math.inf), counts, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == math.inf else repr(bound), cumulative))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets,
                                    sum_value=total)


class EdgeMetrics:
    """The edge's own metrics, besides each tenant's provider metrics: requests by route,
    answers given while the DCS was down, and whether the DCS is up (read at scrape time)."""

    def __init__(self, dcs_up: Callable[[], bool | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = HotCounter(
            "edge_requests", "Requests seen by the edge, by route (origin, event, iframe, tag, "
            "dcs, internal).", ("route",), self.registry,
        )
        self.fail_open = HotCounter(
            "edge_fail_open", "DCS requests the edge answered itself while the DCS was down.",
            ("route",), self.registry,
        )
        self.registry.register(_DcsUp(dcs_up))


class _DcsUp(Collector):
    def __init__(self, up: Callable[[], bool | None]) -> None:
        self.up = up

    def describe(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily("edge_dcs_up", _DCS_UP_DOC)]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = self.up()
        if up is not None:
            yield GaugeMetricFamily("edge_dcs_up", _DCS_UP_DOC, value=1 if up else 0)


_DCS_UP_DOC = "1 while the DCS answers its health probe, 0 while the edge answers for it."


class Exposition(Collector):
    """What the admin port serves: the edge's metrics and every tenant's, read at scrape time
    (a config reload's new tenants included). With tenants, each tenant's samples carry a
    ``tenant`` label; families of the same name are merged into one."""

    def __init__(self, edge: CollectorRegistry,
                 tenants: Callable[[], list[tuple[str, CollectorRegistry]]],
                 labelled: Callable[[], bool]) -> None:
        self.edge, self.tenants, self.labelled = edge, tenants, labelled

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only (tenants can change with the config)

    def collect(self) -> Iterator[Metric]:
        yield from self.edge.collect()
        labelled = self.labelled()
        merged: dict[str, Metric] = {}
        for tenant, registry in self.tenants():
            for family in registry.collect():
                if not labelled:
                    yield family
                    continue
                into = merged.get(family.name)
                if into is None:
                    into = merged[family.name] = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                into.samples.extend(
                    s._replace(labels={**s.labels, "tenant": tenant}) for s in family.samples
                )
        yield from merged.values()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.calls = HotCounter(
            "edge_provider_calls", "Provider calls made, by outcome.",
            ("provider", "outcome"), r,
        )
        self.latency = Histogram(
            "edge_provider_latency_seconds", "Provider call latency.",
            ["provider"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.results = HotCounter(
            "edge_provider_results", "Per-hit provider results, by status and cache use.",
            ("provider", "status", "cache"), r,
        )
        self.cache = HotCounter(
            "edge_provider_cache", "Cache lookups, by result.", ("provider", "result"), r,
        )
        self.retries = HotCounter(
            "edge_provider_retries", "Provider calls tried again (retries) after a network "
            "error or a 502/503/504.", ("provider",), r,
        )
        self.shared = HotCounter(
            "edge_shared_cache", "Shared cache (edge.shared_cache) lookups and writes, by "
            "result: hit, miss, error, skipped (off after an error), dropped (too many writes).",
            ("provider", "result"), r,
        )
        self.enrich = HotHistogram(
            "edge_enrich_duration_seconds",
            "Time from the start of an event hit's fan-out to its result (cache hits included).",
            ENRICH_BUCKETS, r,
        )
        self.evictions = Counter(
            "edge_cache_evictions", "Entries evicted from the full cache.", registry=r,
        )
        self.breaker = Gauge(
            "edge_provider_breaker_state", "Breaker state: 0 closed, 1 half-open, 2 open.",
            ["provider"], registry=r,
        )

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: the lookup costs more than the increment and
        the label sets are few (providers x outcomes)."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def set_breaker(self, provider: str, state: str) -> None:
        self.breaker.labels(provider).set(BREAKER_VALUES[state])

    def forget_provider(self, provider: str) -> None:
        """A provider a reload removed: its breaker gauge goes (its counters stay, as history)."""
        try:
            self.breaker.remove(provider)
        except KeyError:
            pass


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class ProviderStats:
    calls: int = 0
    ok: int = 0
    empty: int = 0
    errors: int = 0
    timeouts: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    recent_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_WINDOW))

    def call(self, outcome: str, ms: float) -> None:
        self.calls += 1
        self.recent_ms.append(ms)
        if outcome == "ok":
            self.ok += 1
        elif outcome == "empty":
            self.empty += 1
        elif outcome == "timeout":
            self.timeouts += 1
        else:
            self.errors += 1

    def summary(self) -> dict[str, object]:
        ms = list(self.recent_ms)
        lookups = self.cache_hits + self.cache_misses
        p50, p95 = _percentile(ms, 0.5), _percentile(ms, 0.95)
        return {
            "calls": self.calls,
            "ok": self.ok,
            "empty": self.empty,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "p50_ms": None if p50 is None else round(p50, 2),
            "p95_ms": None if p95 is None else round(p95, 2),
            "cache_hit_rate": round(self.cache_hits / lookups, 4) if lookups else None,
        }
