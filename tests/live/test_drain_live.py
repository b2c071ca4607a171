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

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(hit, n + 1) for n in range(5)]
        time.sleep(0.4)
        edge.proc.send_signal(signal.SIGTERM)
        codes = [f.result(timeout=30) for f in futures]
    assert codes == [200] * 5, "every hit in flight got its answer"
    assert edge.proc.wait(timeout=30) == 0
    with pytest.raises(httpx.ConnectError):  # and nothing new is accepted
        httpx.get(f"{stack.edge_url}/event?d_rtbd=json", timeout=2)
