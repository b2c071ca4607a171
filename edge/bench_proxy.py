"""`edge bench proxy`: the edge against plain mitmdump, side by side in one run.

Every process is real and local: a trivial upstream (uvicorn), three reference providers, a plain
``mitmdump --mode reverse`` and the edge (``python -m addons.run``), both in front of the same
upstream, so the difference is what the edge adds. The proxies are pinned to the last CPU and
everything else to the others when the machine has more than one.

Scenarios (throughput at ``--connections`` keep-alive connections; latency on one connection;
``plain`` and ``hit`` throughput are measured in turns, ``--rounds`` times each, and hit/plain is
the median of the rounds' ratios):
- ``plain``: mitmdump, no addon.
- ``hit``: the edge, one known visitor, every provider answer cached.
- ``miss``: the edge, a new visitor per hit (no id: the edge mints one), three providers
  answering in 20 ms each.
- ``hang``: the edge, a new visitor per hit, one provider that never answers, deadline 100 ms.

Goals (issue 7): hit/plain throughput >= 1.5; miss adds p99 <= 30 ms over hit and keeps
throughput >= 0.5x plain; hang p99 <= 110 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from edge.demo.stack import StackError, free_port
from edge.loadgen import LoadResult, run

KNOWN = "12345678901234567890123456789012345678"


_BODY = b'{"stuff":[],"uuid":"' + KNOWN.encode() + b'","dcs_region":7,"tid":"AAAAAAAAAAA="}'
_ANSWER = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
           + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY)


async def _upstream_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One keep-alive connection of the trivial upstream: a fixed small JSON answer."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    await reader.readexactly(int(line[15:]))
            writer.write(_ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def serve_upstream(port: int) -> None:
    """The trivial upstream on raw asyncio: far cheaper than the proxies it sits behind, so the
    benchmark measures the proxies, not the backend."""
    server = await asyncio.start_server(_upstream_conn, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def _config(ports: dict[str, int], deadline_ms: int) -> str:
    providers = "".join(
        f'\n[[providers]]\nname = "{n}"\ndpid = {d}\n'
        f'url = "http://127.0.0.1:{ports[n]}/segments"\ntimeout_ms = 80\n'
        # breakers held closed: every hit pays the full call or deadline being measured
        f"breaker = {{ failures = 1000000, window_s = 1, open_s = 1 }}\n"
        for n, d in (("acme", 1001), ("birch", 1002), ("cedar", 1003))
    )
    return (
        f'secret = "{secrets.token_hex(16)}"\n[edge]\nlisten = "127.0.0.1:{ports["edge"]}"\n'
        f'origin = "http://127.0.0.1:{ports["up"]}"\ndcs = "http://127.0.0.1:{ports["up"]}"\n'
        f'admin = "127.0.0.1:{ports["admin"]}"\ndeadline_ms = {deadline_ms}\n{providers}'
    )


class Procs:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        cpus = sorted(os.sched_getaffinity(0))
        self.proxy_cpus = {cpus[-1]} if len(cpus) > 1 else set(cpus)
        self.other_cpus = set(cpus[:-1]) if len(cpus) > 1 else set(cpus)

    def start(self, name: str, argv: list[str], port: int, *, proxy: bool = False) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        os.sched_setaffinity(p.pid, self.proxy_cpus if proxy else self.other_cpus)
        self.procs.append(p)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise StackError(f"{name} exited: {(self.workdir / f'{name}.log').read_text()}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise StackError(f"{name} did not start")

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(15)  # the edge drains first (edge_drain_s, 10 s at most)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def _event(uuid: str | None) -> str:
    ident = f"&d_uuid={uuid}" if uuid else ""
    return f"/event?d_rtbd=json{ident}&c_page=home"


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(port: int, path: Any, conns: int, seconds: float,
                   pid: int | None = None) -> tuple[LoadResult, float]:
    """A warm-up, then the measured run; with `pid`, also that process's CPU seconds in it."""
    await run("127.0.0.1", port, path, connections=conns, duration_s=min(1.0, seconds / 3))
    cpu0 = _cpu_s(pid) if pid is not None else 0.0
    result = await run("127.0.0.1", port, path, connections=conns, duration_s=seconds)
    return result, (_cpu_s(pid) - cpu0 if pid is not None else 0.0)


def _throughput(pid: int, port: int, path: Any, conns: int, seconds: float) -> dict[str, Any]:
    """The load result, plus the proxy's CPU milliseconds per request: steadier than req/s
    on a shared machine, since it does not depend on how much CPU the proxy was given."""
    return _summary([asyncio.run(_measure(port, path, conns, seconds, pid))])


def _summary(runs: list[tuple[LoadResult, float]]) -> dict[str, Any]:
    """Several measured runs of one scenario as one: their requests, time and CPU added up."""
    total = LoadResult()
    cpu_s = 0.0
    for result, cpu in runs:
        total.latencies_ms += result.latencies_ms
        total.errors += result.errors
        total.elapsed_s += result.elapsed_s
        for k, v in result.outcomes.items():
            total.outcomes[k] = total.outcomes.get(k, 0) + v
        total.over_slowest_ms += result.over_slowest_ms
        cpu_s += cpu
    summary = total.summary()
    summary["cpu_ms_per_request"] = round(cpu_s * 1000 / max(1, total.count), 3)
    return summary


def _side_by_side(
    pids: dict[str, int], ports: dict[str, int], path: Any, conns: int, seconds: float,
    rounds: int,
) -> tuple[dict[str, Any], dict[str, Any], list[float], list[float]]:
    """plain and hit throughput, measured in turns (`rounds` of `seconds / rounds` each), so
    that a change in what else the machine does weighs on both alike; with each round's
    hit/plain ratio by throughput and by CPU per request."""
    plain_runs: list[tuple[LoadResult, float]] = []
    hit_runs: list[tuple[LoadResult, float]] = []
    by_rps: list[float] = []
    by_cpu: list[float] = []
    for _ in range(rounds):
        plain = asyncio.run(_measure(ports["plain"], path, conns, seconds / rounds, pids["plain"]))
        hit = asyncio.run(_measure(ports["edge"], path, conns, seconds / rounds, pids["edge"]))
        plain_runs.append(plain)
        hit_runs.append(hit)
        p_sum, h_sum = _summary([plain]), _summary([hit])
        by_rps.append(round(h_sum["rps"] / (p_sum["rps"] or float("nan")), 3))
        by_cpu.append(round(p_sum["cpu_ms_per_request"]
                            / (h_sum["cpu_ms_per_request"] or float("nan")), 3))
    return _summary(plain_runs), _summary(hit_runs), by_rps, by_cpu


def bench(
    seconds: float, conns: int, workdir: Path, profile: str | None = None, rounds: int = 3
) -> dict[str, Any]:
    names = ("up", "edge", "plain", "admin", "acme", "birch", "cedar")
    ports = {n: free_port() for n in names}
    cfg = workdir / "bench.toml"
    cfg.write_text(_config(ports, 100), encoding="utf-8")
    py, bindir = sys.executable, Path(sys.executable).parent
    procs = Procs(workdir)
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, procs.other_cpus)
    out: dict[str, Any] = {"seconds": seconds, "connections": conns, "rounds": rounds,
                           "cpus": os.cpu_count(), "results": {}}
    try:
        procs.start("up", [py, "-m", "edge.bench_proxy", "--serve-upstream", str(ports["up"])],
                    ports["up"])
        for name, dpid in (("acme", 1001), ("birch", 1002), ("cedar", 1003)):
            procs.start(name, [py, "-m", "edge.cli", "provider", "--name", name, "--dpid",
                               str(dpid), "--port", str(ports[name]), "--latency-ms", "20"],
                        ports[name])
        procs.start("plain", [str(bindir / "mitmdump"), "-q", "--mode",
                              f"reverse:http://127.0.0.1:{ports['up']}@127.0.0.1:{ports['plain']}",
                              "--set", "connection_strategy=lazy"], ports["plain"], proxy=True)
        edge_cmd = [py, "-m", "addons.run", "--config", str(cfg)]
        if profile:
            edge_cmd[1:1] = ["-m", "cProfile", "-o", profile]
        procs.start("edge", edge_cmd, ports["edge"], proxy=True)
        res = out["results"]

        def fresh(_: int) -> str:
            return _event(None)  # a new visitor: the edge mints its id; nothing is cached

        def known(_: int) -> str:
            return _event(KNOWN)

        pids = {"plain": procs.procs[-2].pid, "edge": procs.procs[-1].pid}
        plain, hit, by_rps, by_cpu = _side_by_side(pids, ports, known, conns, seconds, rounds)
        res["plain"], res["hit"] = {"throughput": plain}, {"throughput": hit}
        out["rounds_hit_vs_plain"] = {"throughput": by_rps, "cpu": by_cpu}
        res["miss"] = {"throughput": _throughput(pids["edge"], ports["edge"], fresh, conns,
                                                 seconds)}
        for label, proxy, path in (("plain", "plain", known), ("hit", "edge", known),
                                   ("miss", "edge", fresh)):
            res[label]["latency"] = asyncio.run(_measure(ports[proxy], path, 1, seconds))[
                0].summary()
        httpx.post(f"http://127.0.0.1:{ports['acme']}/_control", json={"mode": "hang"})
        hang, _ = asyncio.run(_measure(ports["edge"], fresh, 1, seconds))
        res["hang"] = {"latency": hang.summary()}
    finally:
        procs.stop()
        os.sched_setaffinity(0, pinned)  # the caller's CPUs as they were
    out["ratios"] = _ratios(out["results"], out["rounds_hit_vs_plain"])
    return out


def _ratios(r: dict[str, Any], rounds: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """The goals' numbers. hit/plain is the median of the rounds' ratios when there are
    rounds (plain and the edge measured in turns), else the ratio of the totals."""
    plain_rps = r["plain"]["throughput"]["rps"] or float("nan")
    plain_cpu = r["plain"]["throughput"]["cpu_ms_per_request"] or float("nan")
    if rounds:
        hit_vs_plain = statistics.median(rounds["throughput"])
        hit_by_cpu = statistics.median(rounds["cpu"])
    else:
        hit_vs_plain = r["hit"]["throughput"]["rps"] / plain_rps
        hit_by_cpu = plain_cpu / r["hit"]["throughput"]["cpu_ms_per_request"]
    added_p50 = r["miss"]["latency"]["p50_ms"] - r["hit"]["latency"]["p50_ms"]
    added_p99 = r["miss"]["latency"]["p99_ms"] - r["hit"]["latency"]["p99_ms"]
    return {
        "hit_vs_plain_throughput": round(hit_vs_plain, 2),
        # the same comparison by CPU cost per request (plain's cost / the edge's)
        "hit_vs_plain_by_cpu": round(hit_by_cpu, 2),
        "miss_vs_plain_throughput": round(r["miss"]["throughput"]["rps"] / plain_rps, 2),
        "miss_added_p50_ms": round(added_p50, 2),
        "miss_added_p99_ms": round(added_p99, 2),
        # of which the edge itself: the fan-out's time over its slowest provider's
        "miss_fanout_over_slowest_p99_ms": r["miss"]["latency"].get("fanout_over_slowest_p99_ms"),
        "hang_p99_ms": r["hang"]["latency"]["p99_ms"],
        "goals": {
            "hit_vs_plain_throughput >= 1.5": hit_vs_plain >= 1.5,
            "miss_added_p99_ms <= 30": added_p99 <= 30,
            "miss_vs_plain_throughput >= 0.5": r["miss"]["throughput"]["rps"] / plain_rps >= 0.5,
            "hang_p99_ms <= 110": r["hang"]["latency"]["p99_ms"] <= 110,
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="edge bench proxy", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3,
                    help="plain and the cached-hit edge are measured in turns, this many each "
                    "(--seconds split between them); hit/plain is the median round")
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--profile", metavar="FILE", help="run the edge under cProfile into FILE")
    ap.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_upstream:
        asyncio.run(serve_upstream(args.serve_upstream))
        return 0
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        try:
            out = bench(args.seconds, args.connections, Path(tmp), args.profile,
                        max(1, args.rounds))
        except StackError as e:
            print(f"edge bench proxy: {e}", file=sys.stderr)
            return 1
    for label, r in out["results"].items():
        for kind, s in r.items():
            cpu = f"  cpu {s['cpu_ms_per_request']:.2f} ms/req" if "cpu_ms_per_request" in s else ""
            print(f"{label:<6} {kind:<10} {s['rps']:>8.1f} req/s  p50 {s['p50_ms']:>7.2f} ms  "
                  f"p99 {s['p99_ms']:>7.2f} ms  errors {s['errors']}{cpu}")
            if s["outcomes"]:
                print("       outcomes " + ", ".join(f"{k} {v}" for k, v in s["outcomes"].items()))
            if "fanout_over_slowest_p50_ms" in s:
                print(f"       fan-out over its slowest provider: p50 "
                      f"{s['fanout_over_slowest_p50_ms']:.2f} ms  p99 "
                      f"{s['fanout_over_slowest_p99_ms']:.2f} ms")
    turns = out["rounds_hit_vs_plain"]
    print(f"hit/plain per round: throughput {turns['throughput']}, CPU {turns['cpu']}")
    print(json.dumps(out["ratios"], indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
