"""`edge bench proxy` end to end, briefly: every process starts, every scenario measures what
it names (read from the answers' Server-Timing), and the ratios come from the rounds."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from edge import bench_proxy

pytestmark = pytest.mark.live


def test_the_benchmark_measures_each_scenario(tmp_path: Path) -> None:
    out = bench_proxy.bench(1.2, 2, tmp_path, rounds=2)
    res = out["results"]
    assert set(res) == {"plain", "hit", "miss", "hang"}
    for label in ("plain", "hit", "miss"):
        assert res[label]["throughput"]["requests"] > 0
        assert res[label]["throughput"]["errors"] == 0
        assert res[label]["throughput"]["cpu_ms_per_request"] > 0
    # the cached hit: every provider answered from the cache, on every request
    hits = res["hit"]["throughput"]
    assert set(hits["outcomes"]) == {f"{p}:ok/hit" for p in ("acme", "birch", "cedar")}
    assert all(n == hits["requests"] for n in hits["outcomes"].values())
    assert res["plain"]["throughput"]["outcomes"] == {}  # plain mitmdump adds no header
    assert res["miss"]["latency"]["outcomes"].get("acme:ok/miss", 0) > 0
    # the hung provider times out on every hit of the hang scenario
    hang = res["hang"]["latency"]
    assert hang["outcomes"]["acme:timeout/miss"] == hang["requests"]
    turns = out["rounds_hit_vs_plain"]
    assert len(turns["throughput"]) == len(turns["cpu"]) == 2
    assert out["ratios"]["hit_vs_plain_throughput"] == round(
        statistics.median(turns["throughput"]), 2)
