"""The proxy benchmark's arithmetic (the whole benchmark runs in tests/live/test_bench_proxy.py)."""

from __future__ import annotations

from edge import bench_proxy
from edge.loadgen import LoadResult


def test_rounds_add_up() -> None:
    one = LoadResult([1.0, 2.0], errors=1, elapsed_s=1.0, outcomes={"a:ok/hit": 2})
    two = LoadResult([3.0, 4.0, 5.0, 6.0], errors=0, elapsed_s=1.0, outcomes={"a:ok/hit": 4})
    total = bench_proxy._summary([(one, 0.003), (two, 0.009)])
    assert (total["requests"], total["errors"], total["rps"]) == (6, 1, 3.0)
    assert total["outcomes"] == {"a:ok/hit": 6}
    assert total["cpu_ms_per_request"] == 2.0  # 12 ms of CPU over 6 requests


def test_hit_vs_plain_is_the_median_round() -> None:
    def scenario(rps: float, cpu: float, p50: float = 1.0, p99: float = 2.0) -> dict[str, object]:
        summary = {"rps": rps, "cpu_ms_per_request": cpu, "p50_ms": p50, "p99_ms": p99}
        return {"throughput": summary, "latency": summary}

    results = {"plain": scenario(100, 4.0), "hit": scenario(300, 2.0),
               "miss": scenario(60, 6.0, 26.0, 31.0), "hang": scenario(10, 1.0, 80.0, 95.0)}
    ratios = bench_proxy._ratios(results, {"throughput": [1.4, 1.7, 1.6], "cpu": [2.0, 1.5, 1.8]})
    assert (ratios["hit_vs_plain_throughput"], ratios["hit_vs_plain_by_cpu"]) == (1.6, 1.8)
    assert ratios["miss_vs_plain_throughput"] == 0.6
    assert (ratios["miss_added_p50_ms"], ratios["miss_added_p99_ms"]) == (25.0, 29.0)
    assert ratios["goals"] == {
        "hit_vs_plain_throughput >= 1.5": True, "miss_added_p99_ms <= 30": True,
        "miss_vs_plain_throughput >= 0.5": True, "hang_p99_ms <= 110": True,
    }
    without = bench_proxy._ratios(results)  # no rounds: the totals' ratio
    assert without["hit_vs_plain_throughput"] == 3.0


def test_the_edge_share_of_a_fan_out_is_read_from_server_timing() -> None:
    """What the edge adds over its slowest provider, per answer, from its Server-Timing."""
    import asyncio

    from edge import loadgen

    head = (b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nServer-Timing: "
            b'edge;dur=23.5;desc="deadline 100ms", p-a;dur=21.0;desc="ok/miss", '
            b'p-b;dur=22.25;desc="ok/miss"\r\n\r\n')

    async def main() -> LoadResult:
        reader = asyncio.StreamReader()
        reader.feed_data(head)

        class Writer:
            def write(self, _data: bytes) -> None:
                pass

        result = LoadResult()
        status = await loadgen._one(reader, Writer(), "h", "/", result)  # type: ignore[arg-type]
        assert status == 200
        return result

    result = asyncio.run(main())
    assert result.over_slowest_ms == [1.25]
    assert result.outcomes == {"a:ok/miss": 1, "b:ok/miss": 1}
    assert result.summary()["fanout_over_slowest_p99_ms"] == 1.25
