"""The signed enrichment envelope: what the edge learned from providers, for the DCS.

Wire form, in the request header ``X-Edge-Enrichment``::

    v1.<ts>.<payload>.<signature>

- ``ts``: unix seconds when the edge signed it.
- ``payload``: URL-safe base64 (no padding) of compact JSON::

      {"uuid": "<38 digits>", "nonce": "<16 hex>", "deadline_ms": 100,
       "providers": [{"name": "acme", "dpid": 1001, "status": "ok", "ms": 12.5,
                      "cache": "miss", "segments": [{"id": "sports", "status": 1}]}]}

- ``signature``: URL-safe base64 (no padding) of HMAC-SHA256(secret, ``v1.<ts>.<payload>``).

The visitor id is bound into the signed payload, so an envelope cannot be moved to another
visitor; the timestamp and the nonce bound a replay window (the verifier remembers nonces for
the window). The secret is shared by edge and DCS through configuration, never a request.

Errors: ``EnvelopeError(ValueError)`` and its subclasses ``EnvelopeMalformed``,
``EnvelopeBadSignature``, ``EnvelopeExpired``, ``EnvelopeReplayed`` and
``EnvelopeVisitorMismatch``. The DCS ignores (and counts) an envelope that fails.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

HEADER = "X-Edge-Enrichment"
# Every header the edge owns on the way to the DCS; a client-supplied copy is stripped.
EDGE_HEADERS = (HEADER, "X-Edge-Visitor", "X-Edge-Trace")
VERSION = "v1"
DEFAULT_WINDOW_S = 30

STATUSES = frozenset(
    {"ok", "empty", "timeout", "error", "skipped_consent", "skipped_dpuuid",
     "breaker_open", "disabled"}
)


class EnvelopeError(ValueError):
    """An envelope the DCS must not trust."""


class EnvelopeMalformed(EnvelopeError):
    pass


class EnvelopeBadSignature(EnvelopeError):
    pass


class EnvelopeExpired(EnvelopeError):
    pass


class EnvelopeReplayed(EnvelopeError):
    pass


class EnvelopeVisitorMismatch(EnvelopeError):
    pass


@dataclass(frozen=True)
class SegmentResult:
    id: str
    status: int = 1


@dataclass(frozen=True)
class ProviderResult:
    """One provider's outcome for one hit."""

    name: str
    dpid: int
    status: str
    ms: float
    segments: tuple[SegmentResult, ...] = ()
    cache: str = "miss"  # miss | hit | stale | inflight | none

    def to_json(self) -> dict[str, Any]:
        """A new dict (the caller may change it); ``json`` is the shared, read-only one."""
        return {
            "name": self.name,
            "dpid": self.dpid,
            "status": self.status,
            "ms": round(self.ms, 2),
            "cache": self.cache,
            "segments": [{"id": s.id, "status": s.status} for s in self.segments],
        }

    @cached_property
    def json(self) -> dict[str, Any]:
        """``to_json()``, made once per result and shared: read it, never change it. (The edge
        reuses the result of a cached answer on every hit that finds it.)"""
        return self.to_json()

    @cached_property
    def json_text(self) -> str:
        """``json`` as compact JSON text, made once per result."""
        return _encode(self.json)

    @classmethod
    def from_json(cls, data: Any) -> ProviderResult:
        if not isinstance(data, dict):
            raise EnvelopeMalformed("provider entry is not an object")
        try:
            segments = tuple(
                SegmentResult(str(s["id"]), int(s.get("status", 1)))
                for s in data.get("segments", [])
            )
            status = str(data["status"])
            if status not in STATUSES:
                raise EnvelopeMalformed(f"unknown provider status {status!r}")
            return cls(
                name=str(data["name"]),
                dpid=int(data["dpid"]),
                status=status,
                ms=float(data.get("ms", 0.0)),
                segments=segments,
                cache=str(data.get("cache", "miss")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            if isinstance(e, EnvelopeError):
                raise
            raise EnvelopeMalformed(f"bad provider entry: {e}") from None


@dataclass(frozen=True)
class Envelope:
    uuid: str
    providers: tuple[ProviderResult, ...]
    deadline_ms: int = 0
    ts: int = 0
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, signed: str) -> str:
    return _b64(hmac.digest(secret, signed.encode("ascii"), "sha256"))


_encode = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per call


def payload_json(env: Envelope) -> str:
    """The payload's compact JSON: what ``_encode`` makes of the payload dict, assembled from
    each provider's ``json_text`` (made once per result, and a cached answer's result is
    reused from hit to hit)."""
    providers = ",".join([p.json_text for p in env.providers])
    return (f'{{"uuid":{_encode(env.uuid)},"nonce":{_encode(env.nonce)},'
            f'"deadline_ms":{int(env.deadline_ms)},"providers":[{providers}]}}')


def sign(env: Envelope, secret: bytes, *, now: float | None = None) -> str:
    """The header value carrying `env`, signed with `secret`."""
    if not secret:
        raise ValueError("the enrichment secret is empty")
    ts = int(time.time() if now is None else now)
    payload = _b64(payload_json(env).encode("utf-8"))
    signed = f"{VERSION}.{ts}.{payload}"
    return f"{signed}.{_mac(secret, signed)}"


class Verifier:
    """Checks envelopes: signature, age, visitor binding and replays (bounded nonce memory)."""

    def __init__(
        self, secret: bytes, *, window_s: int = DEFAULT_WINDOW_S, max_nonces: int = 100_000
    ) -> None:
        if not secret:
            raise ValueError("the enrichment secret is empty")
        self._secret = secret
        self._window = window_s
        self._max = max_nonces
        self._seen: OrderedDict[str, int] = OrderedDict()

    def verify(self, value: str, *, uuid: str | None, now: float | None = None) -> Envelope:
        """The envelope in header `value`, for visitor `uuid` (None: the hit names none)."""
        t = time.time() if now is None else now
        if not value.isascii():  # HMAC compares ASCII text only; a header may carry latin-1
            raise EnvelopeMalformed("not a v1 envelope")
        parts = value.strip().split(".")
        if len(parts) != 4 or parts[0] != VERSION:
            raise EnvelopeMalformed("not a v1 envelope")
        version, ts_text, payload, mac = parts
        expected = _mac(self._secret, f"{version}.{ts_text}.{payload}")
        if not hmac.compare_digest(expected, mac):
            raise EnvelopeBadSignature("signature does not match")
        try:
            ts = int(ts_text)
            body = json.loads(_unb64(payload))
        except (ValueError, binascii.Error) as e:
            raise EnvelopeMalformed(f"undecodable payload: {e}") from None
        if abs(t - ts) > self._window:
            raise EnvelopeExpired(f"signed {int(t - ts)} s ago, window is {self._window} s")
        if not isinstance(body, dict) or not isinstance(body.get("uuid"), str):
            raise EnvelopeMalformed("payload has no visitor id")
        if uuid is not None and body["uuid"] != uuid:
            raise EnvelopeVisitorMismatch("envelope was signed for another visitor")
        nonce = str(body.get("nonce", ""))
        if not nonce:
            raise EnvelopeMalformed("payload has no nonce")
        self._forget(t)
        if nonce in self._seen:
            raise EnvelopeReplayed("nonce already seen")
        self._seen[nonce] = ts
        providers = body.get("providers", [])
        if not isinstance(providers, list):
            raise EnvelopeMalformed("providers is not a list")
        deadline_ms = body.get("deadline_ms", 0) or 0
        if not isinstance(deadline_ms, int) or isinstance(deadline_ms, bool):
            raise EnvelopeMalformed("deadline_ms is not an integer")
        return Envelope(
            uuid=body["uuid"],
            providers=tuple(ProviderResult.from_json(p) for p in providers),
            deadline_ms=deadline_ms,
            ts=ts,
            nonce=nonce,
        )

    def _forget(self, now: float) -> None:
        while self._seen:
            nonce, ts = next(iter(self._seen.items()))
            if now - ts <= self._window and len(self._seen) < self._max:
                break
            self._seen.popitem(last=False)
