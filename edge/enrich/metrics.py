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

The per-hit counters (calls, results, cache lookups) are ``HotCounter``s: plain integers
counted on the hot path and exported as Prometheus counters when the registry is scraped. A
``prometheus_client.Counter`` takes a lock and checks its state on every increment, which cost
about 3 us each, six or more times per hit.

``ProviderStats`` keeps the small summary behind ``Enricher.status()``: counts and recent
latencies (a bounded window) for p50/p95.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.5, 1.0)
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
