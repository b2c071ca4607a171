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


@dataclass(frozen=True)
class Entry:
    answer: Answer | None  # the last good answer (None: none yet)
    fresh_until: float = 0.0
    stale_until: float = 0.0
    failing_until: float = 0.0  # a recent failure: no new call before this


@dataclass(frozen=True)
class Lookup:
    """What the cache knows: a fresh answer, a remembered failure, and a stale fallback."""

    fresh: Answer | None = None
    failing: bool = False
    stale: Answer | None = None


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
        self._entries: lru.LRU[str, Entry] = lru.LRU(max_entries, self._evicted)
        self._owners: dict[str, str] = {}  # key -> hashed visitor
        self._by_visitor: dict[str, set[str]] = {}  # hashed visitor -> keys
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
        result = Lookup()
        if entry is not None:
            stale = entry.answer if now < entry.stale_until else None
            if entry.answer is not None and now < entry.fresh_until:
                result = Lookup(fresh=entry.answer)
            else:
                result = Lookup(failing=now < entry.failing_until, stale=stale)
        if count:
            if result.fresh is not None or result.failing:
                self.stats.hits += 1
            else:
                self.stats.misses += 1
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
        self._store(k, uuid, Entry(answer, fresh, fresh + provider.stale_if_error_s))

    def put_error(self, k: str, uuid: str, provider: ProviderConfig) -> None:
        """Remember a failure for the error TTL, keeping the last good answer for fallback."""
        old = self._entries.get(k)
        now = self._clock()
        if old is None:
            entry = Entry(None, failing_until=now + provider.error_ttl_s)
        else:
            entry = Entry(old.answer, old.fresh_until, old.stale_until, now + provider.error_ttl_s)
        self._store(k, uuid, entry)

    def clear(self, uuid: str) -> int:
        """Forget every entry of one visitor; the number of entries removed."""
        removed = 0
        for k in self._by_visitor.pop(_visitor(uuid), set()):
            self._owners.pop(k, None)
            if self._entries.pop(k, None) is not None:
                removed += 1
        return removed

    def _store(self, k: str, uuid: str, entry: Entry) -> None:
        self._entries[k] = entry
        v = _visitor(uuid)
        self._owners[k] = v
        self._by_visitor.setdefault(v, set()).add(k)

    def _evicted(self, k: str, _entry: Entry) -> None:
        self.stats.evictions += 1
        v = self._owners.pop(k, None)
        if v is not None:
            keys = self._by_visitor.get(v)
            if keys is not None:
                keys.discard(k)
                if not keys:
                    del self._by_visitor[v]
        if self._on_evict is not None:
            self._on_evict()
