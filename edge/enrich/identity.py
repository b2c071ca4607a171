"""Who the visitor is, as the DCS knows it: uuid, partner ids (dpid -> dpuuid), opt-out.

``VisitorLookup.lookup(http, uuid=... | mid=..., budget_s=...)`` asks the DCS internal endpoint
(``GET /internal/visitor``, see edge.contracts.internal) with the internal token (and the
``tenant`` it was made for, if any), through the edge's shared client, and caches the answer
for ``dpuuid_cache_s`` (an answer without any partner id only for
``min(dpuuid_cache_s, EMPTY_TTL_S)``, so a sync made by the iframe a moment ago is soon seen).
Lookups are single-flight per id.

The caller waits at most ``budget_s``; ``budget_s(deadline_ms)`` gives the recommended budget,
``min(20 ms, deadline / 4)``, so identity never eats most of a hit's deadline. A lookup that
misses the budget keeps running in the background (up to ``CALL_TIMEOUT_S``) and fills the
cache for the next hit.

Errors: none escape. Any failure (network, timeout, status, bad JSON) reads as "unknown"
(``None``): identity never fails a hit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import lru

from edge.contracts import internal
from edge.enrich.singleflight import SingleFlight

EMPTY_TTL_S = 5
CALL_TIMEOUT_S = 0.5
MAX_BUDGET_S = 0.020


def budget_s(deadline_ms: int) -> float:
    """How long a hit may wait for its identity: min(20 ms, a quarter of the deadline)."""
    return min(MAX_BUDGET_S, deadline_ms / 4000)


@dataclass(frozen=True)
class Visitor:
    uuid: str | None
    partner_ids: Mapping[int, str] = field(default_factory=dict)
    opted_out: bool = False


def parse_visitor(doc: Any) -> Visitor | None:
    """The visitor in an internal-endpoint answer, or None when it is not of that shape."""
    if not isinstance(doc, dict):
        return None
    uuid, ids, opted = doc.get("uuid"), doc.get("partner_ids", {}), doc.get("opted_out", False)
    if (uuid is not None and not isinstance(uuid, str)) or not isinstance(ids, dict):
        return None
    if not isinstance(opted, bool):
        return None
    try:
        partner_ids = {int(k): v for k, v in ids.items() if isinstance(v, str) and v}
    except ValueError:
        return None
    return Visitor(uuid, partner_ids, opted)


class VisitorLookup:
    def __init__(
        self,
        dcs_url: str,
        secret: bytes,
        *,
        ttl_s: int,
        clock: Callable[[], float],
        max_entries: int = 100_000,
        tenant: str = "",
    ) -> None:
        self._url = dcs_url.rstrip("/") + internal.VISITOR_PATH
        self._tenant = {"tenant": tenant} if tenant else {}
        self._token = internal.token(secret)
        self._ttl = ttl_s
        self._clock = clock
        # (expires, uuid, opted_out, ((dpid, dpuuid), ...)): strings and numbers only, which the
        # garbage collector does not track (see edge/enrich/cache.py)
        self._cache: lru.LRU[str, tuple[float, str | None, bool, tuple[tuple[int, str], ...]]] = (
            lru.LRU(max_entries))
        self._flight: SingleFlight[str, Visitor | None] = SingleFlight()

    async def lookup(
        self,
        http: httpx.AsyncClient,
        *,
        uuid: str | None = None,
        mid: str | None = None,
        budget_s: float = MAX_BUDGET_S,
    ) -> Visitor | None:
        """The visitor for `uuid` (preferred) or `mid`; None when unknown or not in time."""
        if uuid:
            param, value = "uuid", uuid
        elif mid:
            param, value = "mid", mid
        else:
            return None
        k = hashlib.sha256(f"{param}\x1f{value}".encode()).hexdigest()
        cached = self._cache.get(k)
        if cached is not None and self._clock() < cached[0]:
            return Visitor(cached[1], dict(cached[3]), cached[2])
        task, _ = self._flight.start(k, lambda: self._fetch(http, k, param, value))
        try:
            return await self._flight.wait(task, budget_s)
        except TimeoutError:
            return None

    def forget(self, uuid: str) -> None:
        self._cache.pop(hashlib.sha256(f"uuid\x1f{uuid}".encode()).hexdigest(), None)

    async def aclose(self) -> None:
        await self._flight.cancel_all()

    async def _fetch(
        self, http: httpx.AsyncClient, k: str, param: str, value: str
    ) -> Visitor | None:
        try:
            response = await http.get(
                self._url,
                params={param: value, **self._tenant},
                headers={internal.TOKEN_HEADER: self._token},
                timeout=CALL_TIMEOUT_S,
            )
            if response.status_code != 200:
                return None
            visitor = parse_visitor(json.loads(response.content))
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError):
            return None
        if visitor is not None:
            ttl = self._ttl if visitor.partner_ids else min(self._ttl, EMPTY_TTL_S)
            self._cache[k] = (self._clock() + ttl, visitor.uuid, visitor.opted_out,
                              tuple(visitor.partner_ids.items()))
        return visitor
