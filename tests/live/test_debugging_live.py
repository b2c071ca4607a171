"""The interactive path for real: mitmweb started by `edge debug` in front of the live stack,
driven through its REST API the way its UI does (commands, flows, content views)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from edge.testing import CommandFailed, DebugLiveStack, generous

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

VISITOR = "12345678901234567890123456789012345678"
OTHER = "98765432109876543210987654321098765432"
HIT = f"/event?d_rtbd=json&d_cts=2&c_page=home&p_email=ann@example.test&d_uuid={VISITOR}"


def _event_flow(stack: DebugLiveStack, needle: str, timeout_s: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [f for f in stack.web.flows()
                 if needle in f["request"]["path"] and f.get("response")]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"no answered flow with {needle!r}"
        time.sleep(0.1)


def test_mitmweb_shows_the_hit_and_runs_the_edge_commands(
    debug_stack_factory: Callable[..., DebugLiveStack],
) -> None:
    stack = debug_stack_factory(generous)
    with stack.client() as c:
        assert c.get(HIT).status_code == 200

    flow = _event_flow(stack, "p_email")
    assert flow["marked"] and flow["comment"].startswith(f"visitor {VISITOR}")
    view = stack.web.view(flow["id"])
    assert view["view_name"] == "DCS hit"
    lines = view["text"].splitlines()
    assert f"  visitor: {VISITOR} (from d_uuid)" in lines
    assert "    p_email: <masked>" in lines and "ann@example.test" not in view["text"]
    assert any(line.startswith("  acme") and "cache=miss" in line for line in lines)
    answer = stack.web.view(flow["id"], "response", "DCS hit")["text"].splitlines()
    assert any(line.startswith("  traits: ") for line in answer)

    rows = json.loads(stack.web.command("edge.providers"))
    assert [r["name"] for r in rows] == ["acme", "birch", "cedar"]
    assert all(r["calls"] == 1 and r["breaker"] == "closed" for r in rows)

    cached = json.loads(stack.web.command("edge.cache.inspect", VISITOR))
    assert cached["providers"]["acme"]["fresh"]
    assert stack.web.command("edge.cache.clear", VISITOR) >= 3
    cleared = json.loads(stack.web.command("edge.cache.inspect", VISITOR))
    assert cleared["providers"]["acme"]["fresh"] is None

    stack.web.command("edge.provider.disable", "cedar")
    with stack.client() as c:
        timing = c.get(f"/event?d_rtbd=json&d_uuid={OTHER}").headers["server-timing"]
    assert 'p-cedar;dur=0.0;desc="disabled/none"' in timing
    stack.web.command("edge.provider.enable", "cedar")
    with pytest.raises(CommandFailed, match="unknown provider"):
        stack.web.command("edge.provider.disable", "zed")


def test_replay_a_hit_as_another_visitor_from_the_command_bar(
    debug_stack_factory: Callable[..., DebugLiveStack],
) -> None:
    stack = debug_stack_factory(generous)
    with stack.client() as c:
        assert c.get(HIT).status_code == 200
    _event_flow(stack, "p_email")
    assert stack.web.command("edge.replay", "~u p_email", OTHER) == 1

    replayed = _event_flow(stack, f"d_uuid={OTHER}")
    assert replayed["is_replay"] == "request"
    assert replayed["comment"].startswith(f"visitor {OTHER}")  # enriched afresh by the edge
    text = stack.web.view(replayed["id"])["text"]
    assert f"  visitor: {OTHER} (from d_uuid)" in text.splitlines()
