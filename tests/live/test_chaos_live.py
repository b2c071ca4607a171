"""Chaos on live traffic: a real edge (mitmweb + our addons) in front of the real stack, chaos
switched on and off through mitmweb's API, and the provider faults of the reference providers."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import count

import httpx
import pytest

from edge.chaos import GARBAGE
from edge.testing import DebugLiveStack, provider_fault

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

_ids = count(10**37)


def _tuned(text: str) -> str:
    """Deadlines a loaded machine meets, yet short enough that added latency misses them."""
    text = text.replace("deadline_ms = 100", "deadline_ms = 1500")
    return re.sub(r"timeout_ms = \d+", "timeout_ms = 1200", text)


def _hit(stack: DebugLiveStack) -> httpx.Response:
    """A new visitor each time (no cache in the way)."""
    with stack.client() as c:
        return c.get(f"/event?d_rtbd=json&c_page=home&d_uuid={next(_ids)}")


def _status(r: httpx.Response, provider: str) -> str:
    m = re.search(rf'p-{provider};dur=[0-9.]+;desc="(\w+)/', r.headers["server-timing"])
    assert m, r.headers["server-timing"]
    return m.group(1)


@pytest.fixture
def stack(debug_stack_factory: Callable[..., DebugLiveStack]) -> DebugLiveStack:
    return debug_stack_factory(_tuned)


def test_route_chaos_on_and_off(stack: DebugLiveStack) -> None:
    with stack.web.chaos("route:/event:error=503"):
        r = _hit(stack)
        assert (r.status_code, r.text) == (503, "chaos: injected error")
    with stack.web.chaos("route:/event:garbage"):
        assert _hit(stack).content == GARBAGE
    with stack.web.chaos("route:/event:reset"), pytest.raises(httpx.RemoteProtocolError):
        _hit(stack)
    with stack.web.chaos("route:/ibs:error=503"):  # another route: untouched
        assert _hit(stack).status_code == 200
    assert _hit(stack).status_code == 200
    marked = [f for f in stack.web.flows() if f["marked"] and "chaos" in (f["comment"] or "")]
    assert len(marked) == 3


def test_provider_chaos_acts_on_the_calls_inside_the_edge(stack: DebugLiveStack) -> None:
    before = stack.calls("acme")
    with stack.web.chaos("provider:acme:error=500"):
        r = _hit(stack)
    assert (_status(r, "acme"), _status(r, "birch")) == ("error", "ok")
    assert stack.calls("acme") == before, "the injected error never reached the provider"
    with stack.web.chaos("provider:acme:latency=2000"):
        assert _status(_hit(stack), "acme") == "timeout"
    assert _status(_hit(stack), "acme") == "ok"


def test_provider_side_faults_through_the_control_endpoint(stack: DebugLiveStack) -> None:
    with provider_fault(stack, "birch", mode="garbage"):
        r = _hit(stack)
        assert r.status_code == 200
        assert _status(r, "birch") == "error"
    assert _status(_hit(stack), "birch") == "ok"
