"""SIGTERM drains the edge: hits in flight are answered, then the process exits cleanly."""

from __future__ import annotations

import concurrent.futures
import signal
import time
from collections.abc import Callable

import httpx
import pytest

from edge.testing import LiveStack, generous

pytestmark = pytest.mark.live


def test_sigterm_lets_in_flight_hits_finish(stack_factory: Callable[..., LiveStack]) -> None:
    # every provider takes a second: the hits are still in the fan-out when SIGTERM arrives
    slow = ["--latency-ms", "1000"]
    stack = stack_factory(generous, acme=slow, birch=slow, cedar=slow)
    edge = stack.stack.service("edge")
    assert edge.proc is not None

    def hit(n: int) -> int:
        with stack.client() as c:
            return c.get(f"/event?d_rtbd=json&c_page=home&d_uuid={n:038d}").status_code

    def seen() -> float:
        """Event hits the edge has received so far (its admin port)."""
        text = httpx.get(f"{stack.url('admin')}/metrics", timeout=5.0).text
        line = next((x for x in text.splitlines()
                     if x.startswith('edge_requests_total{route="event"}')), "x 0")
        return float(line.split()[-1])

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(hit, n + 1) for n in range(5)]
        deadline = time.monotonic() + 20
        while seen() < 5:  # all five received, and in the fan-out for a second
            assert time.monotonic() < deadline, "the hits did not reach the edge"
            time.sleep(0.02)
        edge.proc.send_signal(signal.SIGTERM)
        codes = [f.result(timeout=30) for f in futures]
    assert codes == [200] * 5, "every hit in flight got its answer"
    assert edge.proc.wait(timeout=30) == 0
    with pytest.raises(httpx.ConnectError):  # and nothing new is accepted
        httpx.get(f"{stack.edge_url}/event?d_rtbd=json", timeout=2)


def test_sighup_reloads_the_config_and_keeps_the_cache(
    stack_factory: Callable[..., LiveStack],
) -> None:
    stack = stack_factory(generous)
    edge = stack.stack.service("edge")
    assert edge.proc is not None
    hit = f"/event?d_rtbd=json&c_page=home&d_uuid={7:038d}"

    def timing() -> str:
        with stack.client() as c:
            r = c.get(hit)
        assert r.status_code == 200
        return r.headers["server-timing"]

    first = timing()
    assert 'desc="deadline 3000ms"' in first and "ok/miss" in first
    text = stack.config_path.read_text()
    stack.config_path.write_text(text.replace("deadline_ms = 3000", "deadline_ms = 2999"))
    edge.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while 'desc="deadline 2999ms"' not in (after := timing()):
        assert time.monotonic() < deadline, after
        time.sleep(0.1)
    # the answers cached before the reload are still there: no provider asked again
    assert "/miss" not in after and after.count("ok/hit") == 3
    # a broken file is refused: the edge keeps serving with the config it has
    stack.config_path.write_text(text.replace("deadline_ms = 3000", "deadline_ms = -5"))
    edge.proc.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    assert edge.proc.poll() is None
    assert 'desc="deadline 2999ms"' in timing()
