"""The profile store on Redis, for DCS fleets larger than one host.

Keys (``<prefix>`` defaults to ``"edge:"``)::

    <prefix>p:<uuid>          string  the profile JSON
    <prefix>a:<ns>:<key>      string  alias -> uuid (``<ns>`` percent-encodes ``%`` and ``:``)
    <prefix>r:<uuid>          set     "<ns>:<key>" of every alias pointing to the uuid
    <prefix>o:<uuid>          hash    opt-out partner code ("0" = global) -> unix seconds;
                                      kept by delete()

``update()``, ``link()`` and ``delete()`` are optimistic transactions: WATCH the keys they
read, compute, then MULTI/EXEC; a concurrent write to a watched key aborts EXEC and the
whole step is retried on fresh data after a short random backoff, at most
``max_retries`` times, then ``StoreUnavailable``. So ``fn`` given to ``update()`` may
run more than once.

Durability is the Redis server's: configure AOF (``appendfsync always`` for the same
promise as the SQLite store) on the server.

``stats()`` SCANs every profile key and decodes the profiles in Python: an admin/reporting
operation, kept off the hot path on purpose (no counters to maintain on each update).

redis exceptions are translated where they enter: connection and timeout errors become
``StoreUnavailable``, other server errors ``StoreError``; a profile that does not decode
is ``StoreCorrupt``.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import redis
from redis.client import Pipeline

from edge import redis_url
from edge.profiles.base import (
    GLOBAL,
    InvalidStoreURL,
    StoreCorrupt,
    StoreError,
    StoreStats,
    StoreUnavailable,
    check_alias,
    partner_code,
)
from edge.profiles.model import Profile, ProfileDecodeError

DEFAULT_PREFIX = "edge:"
DEFAULT_TIMEOUT_S = 5.0
_SCAN_BATCH = 500
_BACKOFF_S = 0.001
_BACKOFF_CAP_S = 0.05
_T = TypeVar("_T")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"redis: {exc}") from exc
    except redis.RedisError as exc:
        raise StoreError(f"redis: {exc}") from exc


def _decode(raw: bytes | str) -> Profile:
    try:
        return Profile.from_json(raw)
    except ProfileDecodeError as exc:
        raise StoreCorrupt(f"stored profile does not decode: {exc}") from exc


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _watch(pipe: Pipeline, *keys: str) -> None:
    pipe.watch(*keys)  # type: ignore[no-untyped-call]  # redis-py leaves watch() untyped


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def split_url(url: str) -> tuple[str, str]:
    """Split ``redis://host:port/db?prefix=p`` into the client URL and the key prefix."""
    try:
        return redis_url.split(url, DEFAULT_PREFIX)
    except ValueError as e:
        raise InvalidStoreURL(f"redis store URL: {e}") from None


class RedisStore:
    """``ProfileStore`` on a Redis server (sync client; thread-safe through its pool)."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = DEFAULT_PREFIX, max_retries: int = 32
    ) -> None:
        if max_retries < 1:
            raise ValueError("max_retries must be at least 1")
        self._client = client
        self._prefix = prefix
        self._max_retries = max_retries
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Connect to ``redis://host:port/db[?prefix=...]`` and check the server answers."""
        client_url, prefix = split_url(url)
        try:
            client = redis.Redis.from_url(
                client_url,
                socket_timeout=DEFAULT_TIMEOUT_S,
                socket_connect_timeout=DEFAULT_TIMEOUT_S,
            )
        except (TypeError, ValueError) as exc:
            raise InvalidStoreURL(f"bad redis store URL {url!r}: {exc}") from None
        store = cls(client, prefix=prefix, **options)
        with _translated():
            client.ping()
        return store

    def _live(self) -> redis.Redis:
        # redis-py reconnects a closed client on use: refuse instead, as the contract says.
        if self._closed:
            raise StoreError("profile store is closed")
        return self._client

    # -- keys --------------------------------------------------------------------------

    def _profile_key(self, uuid: str) -> str:
        return f"{self._prefix}p:{uuid}"

    def _refs_key(self, uuid: str) -> str:
        return f"{self._prefix}r:{uuid}"

    def _optout_key(self, uuid: str) -> str:
        return f"{self._prefix}o:{uuid}"

    def _alias_key(self, ref: str) -> str:
        return f"{self._prefix}a:{ref}"

    @staticmethod
    def _ref(namespace: str, key: str) -> str:
        return f"{quote(namespace, safe='')}:{key}"

    # -- optimistic transactions -------------------------------------------------------

    def _optimistic(self, step: Callable[[Pipeline], _T]) -> _T:
        """Run ``step`` (WATCH, read, MULTI, queue writes) until its EXEC is not aborted.

        ``step`` returns its result after queuing; the pipeline is executed here.
        """
        with _translated():
            for attempt in range(self._max_retries):
                with self._live().pipeline(transaction=True) as pipe:
                    result = step(pipe)
                    try:
                        pipe.execute()
                    except redis.WatchError:
                        # Full-jitter backoff: contending writers spread out instead of
                        # colliding again in lockstep.
                        time.sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_S * 2**attempt)))
                        continue
                    return result
        raise StoreUnavailable(f"redis: write conflict persisted over {self._max_retries} tries")

    # -- the contract ------------------------------------------------------------------

    def load(self, uuid: str) -> Profile | None:
        with _translated():
            raw = self._live().get(self._profile_key(uuid))
        return None if raw is None else _decode(raw)

    def update(self, uuid: str, fn: Callable[[Profile], None], *, now: int) -> Profile:
        key = self._profile_key(uuid)

        def step(pipe: Pipeline) -> Profile:
            _watch(pipe, key)
            raw = pipe.get(key)
            profile = Profile(uuid, now, now) if raw is None else _decode(raw)
            fn(profile)
            if profile.uuid != uuid:
                raise ValueError(f"update callback changed the profile uuid to {profile.uuid!r}")
            profile.updated_ts = now
            pipe.multi()
            pipe.set(key, profile.to_json())
            return profile

        return self._optimistic(step)

    def link(self, namespace: str, key: str, uuid: str, *, now: int) -> None:
        check_alias(namespace, key)
        ref = self._ref(namespace, key)
        alias_key = self._alias_key(ref)

        def step(pipe: Pipeline) -> None:
            _watch(pipe, alias_key)
            old = pipe.get(alias_key)
            pipe.multi()
            pipe.set(alias_key, uuid)
            pipe.sadd(self._refs_key(uuid), ref)
            if old is not None and _text(old) != uuid:
                pipe.srem(self._refs_key(_text(old)), ref)

        self._optimistic(step)

    def resolve(self, namespace: str, key: str) -> str | None:
        with _translated():
            raw = self._live().get(self._alias_key(self._ref(namespace, key)))
        return None if raw is None else _text(raw)

    def opt_out(self, uuid: str, *, partner: int | None = None, now: int) -> None:
        code = partner_code(partner)
        with _translated():
            self._live().hsetnx(self._optout_key(uuid), str(code), str(now))

    def is_opted_out(self, uuid: str, *, partner: int | None = None) -> bool:
        codes = sorted({GLOBAL, partner_code(partner)})
        with _translated():
            hits = self._live().hmget(self._optout_key(uuid), [str(c) for c in codes])
        return any(hit is not None for hit in hits)

    def delete(self, uuid: str) -> bool:
        profile_key, refs_key = self._profile_key(uuid), self._refs_key(uuid)

        def step(pipe: Pipeline) -> bool:
            _watch(pipe, profile_key, refs_key)
            refs = [_text(r) for r in pipe.smembers(refs_key)]
            alias_keys = [self._alias_key(ref) for ref in refs]
            if alias_keys:
                _watch(pipe, *alias_keys)
                targets = pipe.mget(alias_keys)
            else:
                targets = []
            existed = bool(pipe.exists(profile_key))
            pointing = [
                k for k, t in zip(alias_keys, targets, strict=True) if t and _text(t) == uuid
            ]
            pipe.multi()
            pipe.delete(profile_key, refs_key, *pointing)
            return existed

        return self._optimistic(step)

    def stats(self) -> StoreStats:
        stats = StoreStats()
        pattern = _glob_escape(self._prefix) + "p:*"
        with _translated():
            batch: list[Any] = []
            for key in self._live().scan_iter(match=pattern, count=_SCAN_BATCH):
                batch.append(key)
                if len(batch) >= _SCAN_BATCH:
                    self._count(batch, stats)
                    batch = []
            self._count(batch, stats)
        return stats

    def _count(self, keys: list[Any], stats: StoreStats) -> None:
        if not keys:
            return
        for raw in self._live().mget(keys):
            if raw is not None:  # deleted between SCAN and MGET
                stats.add(_decode(raw))

    def close(self) -> None:
        self._closed = True
        with _translated():
            self._client.close()
