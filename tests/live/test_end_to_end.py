"""The whole path, real in every part: a hit through mitmproxy, providers asked live, the DCS
answering with traits and segments realized from the providers' data."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from edge import config
from edge.providers.server import ProviderState
from edge.testing import LiveStack, generous

pytestmark = pytest.mark.live

HIT = "/event?d_rtbd=json&d_cts=2&c_page=home"


def _expected_segments(stack: LiveStack, uuid: str, providers: tuple[str, ...]) -> set[int]:
    """What the providers' deterministic answers should realize, computed from the config."""
    cfg = config.load(stack.config_path)
    from edge.providers.main import data_path
    from edge.providers.server import load_data

    traits = set()
    for name in providers:
        p = cfg.provider(name)
        assert p is not None
        catalog, visitors = load_data(data_path(name))
        ids = ProviderState(name, p.dpid, catalog, visitors).segments_for(uuid, None)
        for t in cfg.traits:
            if t.kind == "onboarded" and t.dpid == p.dpid and any(f'"{i}"' in t.rule for i in ids):
                traits.add(t.sid)
    return traits


def test_hit_through_the_edge_gets_provider_segments(
    stack_factory: Callable[..., LiveStack],
) -> None:
    stack = stack_factory(generous)
    with stack.client() as c:
        r = c.get(HIT)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert re.fullmatch(r"[0-9]{38}", doc["uuid"])
    assert len(doc["tid"]) == 12
    assert doc["stuff"] is not None and isinstance(doc["dcs_region"], int)
    onboarded = _expected_segments(stack, doc["uuid"], ("acme", "birch", "cedar"))
    assert onboarded, "every demo visitor gets some provider segments"
    assert onboarded <= set(doc["traits"]), (onboarded, doc)
    assert 1 in doc["traits"]  # the rule-based trait c_page == "home"
    assert 5009 in doc["segments"] and len(doc["segments"]) >= 2
    # the edge says what it did, per provider
    timing = r.headers["server-timing"]
    for name in ("acme", "birch", "cedar"):
        assert f"p-{name};" in timing
    # and the visitor keeps its id: the cookie set by the DCS comes back through the edge
    assert r.cookies.get("demdex") == doc["uuid"]


def test_known_visitor_keeps_id_and_providers_are_cached(
    stack_factory: Callable[..., LiveStack],
) -> None:
    stack = stack_factory(generous)
    with stack.client() as c:
        first = c.get(HIT).json()
        before = stack.calls("acme")
        second = c.get(HIT)  # the cookie jar carries the visitor cookie
    assert second.json()["uuid"] == first["uuid"]
    assert stack.calls("acme") == before, "the second hit was served from the edge's cache"
    assert "cache" in second.headers["server-timing"] or "hit" in second.headers["server-timing"]


def test_slow_provider_is_left_out_and_the_hit_still_succeeds(
    stack_factory: Callable[..., LiveStack],
) -> None:
    stack = stack_factory(generous, cedar=["--latency-ms", "20000"])
    uuid = "12345678901234567890123456789012345678"
    with stack.client() as c:
        r = c.get(f"{HIT}&d_uuid={uuid}")
    assert r.status_code == 200
    doc = r.json()
    assert doc["uuid"] == uuid
    timing = r.headers["server-timing"]
    assert re.search(r'p-cedar;dur=[0-9.]+;desc="timeout', timing), timing
    assert re.search(r'p-acme;dur=[0-9.]+;desc="ok', timing), timing
    got = set(doc["traits"])
    assert _expected_segments(stack, uuid, ("acme",)) <= got
    cedar_traits = {301, 302, 303}
    assert not (got & cedar_traits), "the slow provider's segments were not waited for"
