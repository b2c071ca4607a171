from __future__ import annotations

import pytest

from edge.contracts.envelope import SegmentResult
from edge.contracts.provider_protocol import Answer
from edge.enrich.cache import Cache, key, ttl_for
from tests.enrich._support import UUID, FakeClock, provider

P = provider("p", 1, ttl_s=300, negative_ttl_s=60, error_ttl_s=5, stale_if_error_s=600)
SEG = (SegmentResult("a"),)


@pytest.mark.parametrize(
    "answer, expected",
    [
        (Answer(SEG, ttl_s=30), 30),  # the answer's own ttl_s (or max-age, folded in)
        (Answer(SEG), 300),  # the provider's ttl_s
        (Answer(()), 60),  # empty: negative TTL
        (Answer((), ttl_s=10), 10),  # empty with its own TTL
        (Answer(SEG, ttl_s=0), 0),  # "do not reuse"
    ],
)
def test_ttl_policy(answer: Answer, expected: int) -> None:
    assert ttl_for(answer, P) == expected


def test_key_is_hashed_and_depends_on_every_part() -> None:
    k = key("p", UUID, "fp")
    assert UUID not in k and "fp" not in k
    assert len({k, key("q", UUID, "fp"), key("p", UUID[:-1] + "9", "fp"), key("p", UUID, "x")}) == 4


@pytest.mark.parametrize(
    "answer, at, fresh",
    [
        (Answer(SEG, ttl_s=30), 29.9, True),
        (Answer(SEG, ttl_s=30), 30.0, False),
        (Answer(SEG), 299, True),
        (Answer(SEG), 301, False),
        (Answer(()), 59, True),
        (Answer(()), 61, False),
    ],
)
def test_fresh_until_ttl(answer: Answer, at: float, fresh: bool) -> None:
    clock = FakeClock()
    c = Cache(10, clock=clock)
    c.put("k", UUID, answer, P)
    clock.advance(at)
    look = c.lookup("k")
    assert (look.fresh == answer) is fresh
    assert (look.fresh is None) is not fresh


def test_error_ttl_then_a_new_call() -> None:
    clock = FakeClock()
    c = Cache(10, clock=clock)
    c.put_error("k", UUID, P)
    assert c.lookup("k").failing and c.lookup("k").fresh is None
    clock.advance(5.01)
    assert not c.lookup("k").failing


@pytest.mark.parametrize(
    "after_expiry, stale",
    [(1, True), (599, True), (600.5, False)],
)
def test_stale_if_error_window(after_expiry: float, stale: bool) -> None:
    clock = FakeClock()
    c = Cache(10, clock=clock)
    good = Answer(SEG, ttl_s=30)
    c.put("k", UUID, good, P)
    clock.advance(30 + after_expiry)
    c.put_error("k", UUID, P)  # the refresh failed
    look = c.lookup("k")
    assert look.fresh is None and look.failing
    assert (look.stale == good) is stale


def test_a_failure_does_not_hide_a_fresh_answer() -> None:
    clock = FakeClock()
    c = Cache(10, clock=clock)
    c.put("k", UUID, Answer(SEG, ttl_s=30), P)
    c.put_error("k", UUID, P)
    assert c.lookup("k").fresh is not None


def test_counters_and_eviction() -> None:
    clock = FakeClock()
    evicted: list[int] = []
    c = Cache(2, clock=clock, on_evict=lambda: evicted.append(1))
    for i in range(4):
        c.put(f"k{i}", UUID, Answer(SEG), P)
    assert len(c) == 2 and c.stats.evictions == 2 and len(evicted) == 2
    c.lookup("k3")
    c.lookup("k0")  # evicted
    c.put_error("e", UUID, P)
    c.lookup("e")  # a remembered failure counts as a hit
    c.served_stale()
    assert (c.stats.hits, c.stats.misses, c.stats.stale) == (2, 1, 1)
    c.lookup("k3", count=False)
    assert (c.stats.hits, c.stats.misses) == (2, 1)


def test_clear_one_visitor() -> None:
    c = Cache(10, clock=FakeClock())
    other = "9" * 38
    c.put(key("p", UUID, "f"), UUID, Answer(SEG), P)
    c.put_error(key("q", UUID, "f"), UUID, P)
    c.put(key("p", other, "f"), other, Answer(SEG), P)
    assert c.clear(UUID) == 2
    assert c.lookup(key("p", UUID, "f")).fresh is None
    assert c.lookup(key("p", other, "f")).fresh is not None
    assert c.clear(UUID) == 0


def test_clear_after_eviction_counts_only_present_entries() -> None:
    c = Cache(1, clock=FakeClock())
    c.put("a", UUID, Answer(SEG), P)
    c.put("b", "9" * 38, Answer(SEG), P)  # evicts a
    assert c.clear(UUID) == 0


def test_entries_are_invisible_to_the_garbage_collector() -> None:
    """A full collection stops the whole edge: the cache's entries (and the visitor index)
    must be plain tuples the collector stops tracking, however many the cache holds."""
    import gc

    c = Cache(100, clock=lambda: 0.0)
    c.put(key("p", UUID, "f"), UUID, Answer((SegmentResult("a"), SegmentResult("b", 0))), P)
    c.put_error(key("q", UUID, "f"), UUID, P)
    # a collection stops tracking a tuple whose items it finds untracked, so nested tuples
    # settle over a few collections (one level each, at worst)
    for _ in range(3):
        gc.collect()
    for entry in c._entries.values():
        assert not gc.is_tracked(entry)
        assert entry[0] is None or not any(gc.is_tracked(s) for s in entry[0])
    assert not any(gc.is_tracked(keys) for keys in c._by_visitor.values())
    # and what a lookup gives is still the answer that was put
    look = c.lookup(key("p", UUID, "f"))
    assert look.fresh is not None and look.fresh.segments == (
        SegmentResult("a"), SegmentResult("b", 0))
    assert c.lookup(key("p", UUID, "f")).fresh is look.fresh  # the same object, remembered
