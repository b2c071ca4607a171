"""The shared answer cache: provider answers in Redis, for every edge process of a deployment.

One edge process uses about one core; a deployment runs several behind a load balancer, and
each has its own in-process cache (edge/enrich/cache.py). With ``edge.shared_cache`` set, a
provider answer one process got is found by the others: on an in-process miss the call first
asks Redis (within ``edge.shared_cache_timeout_ms``), and every answer a provider gives is
written there as well, for as long as it is fresh.

- Keys: ``<prefix><tenant>:<provider>:<visitor digest>`` (the same hashed visitor-and-consent
  digest as the in-process cache: no raw visitor id is stored). Default prefix ``edge:pc:``;
  ``?prefix=`` in the URL sets another (edge/redis_url.py).
- Values: compact JSON ``{"s": [[id, status], ...], "f": <fresh until, unix seconds>}``; Redis
  expires the key at the same time. Only fresh answers are shared: failures, stale fallbacks
  and single-flight stay per process.
- Time: wall-clock seconds (``wall``), since processes share no monotonic clock.

Errors: nothing here raises to the caller. A Redis error or timeout counts as ``error`` and
turns the shared cache off for ``BACKOFF_S`` (``skipped`` meanwhile), so a Redis outage costs a
hit at most one timeout per process and second. A bad URL raises ``ValueError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from edge import redis_url
from edge.contracts.envelope import SegmentResult
from edge.contracts.provider_protocol import Answer

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "edge:pc:"
BACKOFF_S = 1.0
MAX_WRITES_IN_FLIGHT = 256  # beyond this, a write is dropped (counted) rather than queued

class SharedCache:
    def __init__(
        self,
        url: str,
        *,
        tenant: str = "",
        timeout_s: float = 0.02,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        on_result: Callable[[str, str], None] | None = None,
    ) -> None:
        client_url, prefix = redis_url.split(url, DEFAULT_PREFIX)
        self.settings = (url, tenant, timeout_s)  # what a reload compares
        self._prefix = f"{prefix}{tenant}:"
        self._timeout = timeout_s
        self._wall = wall
        self._clock = clock
        self._on_result = on_result or (lambda _provider, _result: None)
        self._client = aioredis.Redis.from_url(
            client_url, socket_timeout=max(timeout_s, 0.5), socket_connect_timeout=1.0
        )
        self._off_until = 0.0
        self._writes: set[asyncio.Task[None]] = set()

    # -- reading ---------------------------------------------------------------------------

    async def get(self, provider: str, key: str, budget_s: float) -> tuple[Answer, float] | None:
        """A fresh answer another process (or this one) stored, and the seconds it stays
        fresh; None when there is none, or Redis did not answer within the budget."""
        if self._clock() < self._off_until:
            self._on_result(provider, "skipped")
            return None
        try:
            async with asyncio.timeout(max(0.0, min(self._timeout, budget_s))):
                raw = await self._client.get(self._prefix + key)
        except (TimeoutError, RedisError, OSError) as e:
            self._failed(provider, e)
            return None
        found = _decode(raw, self._wall()) if raw is not None else None
        self._on_result(provider, "miss" if found is None else "hit")
        return found

    # -- writing ---------------------------------------------------------------------------

    def put(self, provider: str, key: str, answer: Answer, fresh_s: float) -> None:
        """Store `answer` for `fresh_s` seconds, in the background (never waits, never
        raises)."""
        if fresh_s <= 0 or self._clock() < self._off_until:
            return
        if len(self._writes) >= MAX_WRITES_IN_FLIGHT:
            self._on_result(provider, "dropped")
            return
        value = _encode(answer, self._wall() + fresh_s)
        task = asyncio.get_running_loop().create_task(
            self._write(provider, self._prefix + key, value, int(fresh_s * 1000))
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, provider: str, key: str, value: bytes, px: int) -> None:
        try:
            async with asyncio.timeout(max(self._timeout * 5, 0.1)):
                await self._client.set(key, value, px=px)
        except (TimeoutError, RedisError, OSError) as e:
            self._failed(provider, e)

    async def aclose(self) -> None:
        if self._writes:
            await asyncio.wait(self._writes, timeout=1.0)
        await self._client.aclose()

    def _failed(self, provider: str, error: BaseException) -> None:
        if self._clock() >= self._off_until:
            log.warning("shared cache unavailable (%s): off for %.0f s",
                        type(error).__name__, BACKOFF_S)
        self._off_until = self._clock() + BACKOFF_S
        self._on_result(provider, "error")


def _encode(answer: Answer, fresh_until: float) -> bytes:
    doc = {"s": [[s.id, s.status] for s in answer.segments], "f": round(fresh_until, 3)}
    return json.dumps(doc, separators=(",", ":")).encode()


def _decode(raw: bytes | str, now: float) -> tuple[Answer, float] | None:
    """The answer and its remaining freshness; None for an expired or unreadable value (a
    value this code did not write is ignored, never trusted to crash the hit)."""
    try:
        doc = json.loads(raw)
        left = float(doc["f"]) - now
        segments = tuple(SegmentResult(str(i), int(st)) for i, st in doc["s"])
    except (ValueError, TypeError, KeyError):
        return None
    if left <= 0:
        return None
    return Answer(segments, int(left)), left
