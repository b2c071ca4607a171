"""A small HTTP/1.1 keep-alive load generator for the benchmarks (asyncio, raw sockets).

Each of ``connections`` workers sends requests one after another on its own keep-alive
connection for ``duration_s`` and records every latency. It is deliberately minimal (GET only,
Content-Length bodies) so that it costs far less CPU than the proxies it measures.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0
    # provider outcomes read from the edge's Server-Timing header: "name:status/cache" -> count
    outcomes: dict[str, int] = field(default_factory=dict)
    # per enriched answer: the fan-out's time minus its slowest provider's (Server-Timing),
    # what the edge itself added to the wait for the providers
    over_slowest_ms: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.count / self.elapsed_s if self.elapsed_s else 0.0

    def pct(self, q: float) -> float:
        return _percentile(sorted(self.latencies_ms), q)

    def summary(self) -> dict[str, object]:
        return {
            "requests": self.count,
            "errors": self.errors,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.pct(50), 2),
            "p99_ms": round(self.pct(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.count else 0.0,
            "outcomes": dict(sorted(self.outcomes.items())),
            **self._over_slowest(),
        }

    def _over_slowest(self) -> dict[str, float]:
        if not self.over_slowest_ms:
            return {}
        data = sorted(self.over_slowest_ms)
        return {"fanout_over_slowest_p50_ms": round(_percentile(data, 50), 2),
                "fanout_over_slowest_p99_ms": round(_percentile(data, 99), 2)}


def _percentile(data: list[float], q: float) -> float:
    """The `q` percentile of sorted `data` (NaN when empty)."""
    if not data:
        return float("nan")
    return data[min(len(data) - 1, int(q / 100 * len(data)))]


_TIMING = re.compile(rb'p-([^;]+);dur=[0-9.]+;desc="([a-z_]+)/([a-z]+)"')
_DURS = re.compile(rb'(?:^|, )(edge|p-[^;]+);dur=([0-9.]+)')


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
               path: str, result: LoadResult) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        low = line.lower()
        if low.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif low.startswith(b"server-timing:"):
            outcomes = result.outcomes
            for name, outcome, cache in _TIMING.findall(line):
                k = f"{name.decode()}:{outcome.decode()}/{cache.decode()}"
                outcomes[k] = outcomes.get(k, 0) + 1
            durs = _DURS.findall(line.split(b":", 1)[1].strip())
            fanout = [float(d) for n, d in durs if n == b"edge"]
            slowest = max((float(d) for n, d in durs if n != b"edge"), default=None)
            if fanout and slowest is not None:
                result.over_slowest_ms.append(fanout[0] - slowest)
    if length:
        await reader.readexactly(length)
    return status


async def run(
    host: str, port: int, path: Callable[[int], str], *, connections: int, duration_s: float
) -> LoadResult:
    result = LoadResult()
    stop_at = time.perf_counter() + duration_s
    counter = iter(range(10**9))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                p = path(next(counter))
                t0 = time.perf_counter()
                try:
                    one = _one(reader, writer, host, p, result)
                    status = await asyncio.wait_for(one, 10)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                if status != 200:
                    result.errors += 1
                    key = f"http_{status}"
                    result.outcomes[key] = result.outcomes.get(key, 0) + 1
                    continue
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - t0
    return result
