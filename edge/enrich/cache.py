"""The answer cache: per (provider, visitor, consent fingerprint), bounded, with expiry.

Keys are ``key(provider, uuid, fingerprint)``: the provider's name and a SHA-256 of the
visitor id and consent fingerprint (``visitor_key``, computed once per hit for all providers),
so no raw visitor id is ever a key. Entries live in an ``lru.LRU`` of ``max_entries``; the
least recently used entry is evicted (and counted) when it is full.

Policy (``ttl_for``): a non-empty answer lives for the answer's own TTL (``ttl_s`` in the
body, else ``Cache-Control: max-age``, both already folded into ``Answer.ttl_s``), else the
provider's ``ttl_s``. An empty answer (204 or no segments) lives for the answer's TTL if it
gave one, else the provider's ``negative_ttl_s``. A failure is remembered for ``error_ttl_s``
(no new call meanwhile). The last good answer stays usable for ``stale_if_error_s`` after it
expires, but only as a fallback when the refresh fails (``Lookup.stale``).

No errors of its own. Time comes from an injected clock (seconds, monotonic).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import lru

from edge.config import ProviderConfig
from edge.contracts.envelope import SegmentResult
from edge.contracts.provider_protocol import Answer


def visitor_key(uuid: str, fingerprint: str) -> str:
    """The visitor-and-consent part of every provider's key for one hit: a digest."""
    return hashlib.sha256(f"{uuid}\x1f{fingerprint}".encode()).hexdigest()


def provider_key(provider: str, visitor: str) -> str:
    """The cache (and single-flight) key of `provider` for a ``visitor_key``."""
    return f"{provider}\x1f{visitor}"


def key(provider: str, uuid: str, fingerprint: str) -> str:
    """The cache (and single-flight) key: the provider and a digest, never the raw id."""
    return provider_key(provider, visitor_key(uuid, fingerprint))


def _visitor(uuid: str) -> str:
    return hashlib.sha256(f"visitor\x1f{uuid}".encode()).hexdigest()


def ttl_for(answer: Answer, provider: ProviderConfig) -> int:
    """How long `answer` stays fresh, in seconds."""
    if answer.ttl_s is not None:
        return answer.ttl_s
    return provider.negative_ttl_s if answer.empty else provider.ttl_s


# An entry is a plain tuple of strings and numbers: (segments, ttl_s, fresh_until, stale_until,
# failing_until), segments being ((id, status), ...) of the last good answer, or None when there
# is none yet (failing_until: a recent failure, no new call before it). Python's garbage
# collector stops tracking such tuples, so a cache of 100,000 entries adds nothing to its full
# collections, which stop the whole process (and every hit in flight) while they run: with
# objects per entry they grew to tens of milliseconds at a few thousand visitors.
_Segments = tuple[tuple[str, int], ...]
_Entry = tuple[_Segments | None, int | None, float, float, float]
_ANSWERS = 2048  # answers kept as objects, for the visitors looked up most recently


@dataclass(frozen=True)
class Lookup:
    """What the cache knows: a fresh answer, a remembered failure, and a stale fallback."""

    fresh: Answer | None = None
    failing: bool = False
    stale: Answer | None = None


_NOTHING = Lookup()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stale: int = 0
    evictions: int = 0


class Cache:
    def __init__(
        self,
        max_entries: int,
        *,
        clock: Callable[[], float],
        on_evict: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._on_evict = on_evict
        self._entries: lru.LRU[str, _Entry] = lru.LRU(max_entries, self._evicted)
        self._owners: dict[str, str] = {}  # key -> hashed visitor
        self._by_visitor: dict[str, tuple[str, ...]] = {}  # hashed visitor -> keys
        # an entry's segments as an Answer, made once: id(segments) -> (segments, ttl, answer)
        self._answers: lru.LRU[int, tuple[_Segments, int | None, Answer]] = lru.LRU(_ANSWERS)
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._entries)

    def resize(self, max_entries: int) -> None:
        """A new bound; shrinking evicts the least recently used entries (counted)."""
        self._entries.set_size(max(1, max_entries))

    def lookup(self, k: str, *, count: bool = True) -> Lookup:
        """The state for key `k`; counts a hit (fresh or failing) or a miss when `count`."""
        entry = self._entries.get(k)
        now = self._clock()
        result = _NOTHING
        if entry is not None:
            segments, ttl, fresh_until, stale_until, failing_until = entry
            if segments is not None and now < fresh_until:
                result = Lookup(fresh=self._answer(segments, ttl))
            else:
                stale = (self._answer(segments, ttl)
                         if segments is not None and now < stale_until else None)
                result = Lookup(failing=now < failing_until, stale=stale)
        if count:
            self.counted(result.fresh is not None or result.failing)
        return result

    def counted(self, hit: bool) -> None:
        """Count one lookup made with ``count=False`` as a hit or a miss (for callers that
        look twice and count once)."""
        if hit:
            self.stats.hits += 1
        else:
            self.stats.misses += 1

    def served_stale(self) -> None:
        """Count one stale answer served (the caller decides when a fallback is used)."""
        self.stats.stale += 1

    def put(self, k: str, uuid: str, answer: Answer, provider: ProviderConfig) -> None:
        now = self._clock()
        fresh = now + ttl_for(answer, provider)
        segments = tuple([(s.id, s.status) for s in answer.segments])
        self._store(k, uuid, (segments, answer.ttl_s, fresh, fresh + provider.stale_if_error_s,
                              0.0))
        self._answers[id(segments)] = (segments, answer.ttl_s, answer)

    def put_error(self, k: str, uuid: str, provider: ProviderConfig) -> None:
        """Remember a failure for the error TTL, keeping the last good answer for fallback."""
        old = self._entries.get(k)
        failing = self._clock() + provider.error_ttl_s
        if old is None:
            self._store(k, uuid, (None, None, 0.0, 0.0, failing))
        else:
            self._store(k, uuid, (old[0], old[1], old[2], old[3], failing))

    def _answer(self, segments: _Segments, ttl: int | None) -> Answer:
        """The Answer of an entry's segments: the same object while it is remembered (the
        Enricher keeps a cached answer's result by its identity)."""
        known = self._answers.get(id(segments))
        if known is not None and known[0] is segments and known[1] == ttl:
            return known[2]
        answer = Answer(tuple([SegmentResult(i, st) for i, st in segments]), ttl)
        self._answers[id(segments)] = (segments, ttl, answer)
        return answer

    def clear(self, uuid: str) -> int:
        """Forget every entry of one visitor; the number of entries removed."""
        removed = 0
        for k in self._by_visitor.pop(_visitor(uuid), ()):
            self._owners.pop(k, None)
            if self._entries.pop(k, None) is not None:
                removed += 1
        return removed

    def _store(self, k: str, uuid: str, entry: _Entry) -> None:
        self._entries[k] = entry
        v = _visitor(uuid)
        self._owners[k] = v
        keys = self._by_visitor.get(v, ())
        if k not in keys:
            self._by_visitor[v] = (*keys, k)  # a tuple of strings: untracked as well

    def _evicted(self, k: str, _entry: _Entry) -> None:
        self.stats.evictions += 1
        v = self._owners.pop(k, None)
        if v is not None:
            keys = tuple([x for x in self._by_visitor.get(v, ()) if x != k])
            if keys:
                self._by_visitor[v] = keys
            else:
                self._by_visitor.pop(v, None)
        if self._on_evict is not None:
            self._on_evict()
