"""The hot-path collectors: what a scrape reads is what was counted, in Prometheus' terms."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from edge.enrich.metrics import HotCounter, HotHistogram


def test_histogram_buckets_are_cumulative_upper_bounds() -> None:
    reg = CollectorRegistry()
    h = HotHistogram("t_seconds", "test", (0.01, 0.001, 0.1), reg)  # any order
    for v in (0.0005, 0.001, 0.002, 0.01, 0.5):
        h.observe(v)
    get = reg.get_sample_value
    # an observation equal to a bound is in that bound's bucket (le: less or equal)
    assert get("t_seconds_bucket", {"le": "0.001"}) == 2
    assert get("t_seconds_bucket", {"le": "0.01"}) == 4
    assert get("t_seconds_bucket", {"le": "0.1"}) == 4
    assert get("t_seconds_bucket", {"le": "+Inf"}) == 5
    assert get("t_seconds_count") == 5
    assert abs((get("t_seconds_sum") or 0) - 0.5135) < 1e-9


def test_counter_by_labels() -> None:
    reg = CollectorRegistry()
    c = HotCounter("t_calls", "test", ("provider", "outcome"), reg)
    c.inc("a", "ok")
    c.inc("a", "ok")
    c.inc("b", "error")
    assert reg.get_sample_value("t_calls_total", {"provider": "a", "outcome": "ok"}) == 2
    assert reg.get_sample_value("t_calls_total", {"provider": "b", "outcome": "error"}) == 1
    assert reg.get_sample_value("t_calls_total", {"provider": "b", "outcome": "ok"}) is None
    assert c.value("a", "ok") == 2
