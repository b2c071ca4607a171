"""Provider protocol v1: the request the edge sends and the answer it accepts.

The full contract is in docs/provider-protocol.md. This module holds the pure parts both sides
use: building and signing the request body, and validating an answer.

Errors: ``ProtocolError(ValueError)``: the answer is not a valid v1 answer (the provider failed).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge.contracts.envelope import SegmentResult

CONTENT_TYPE = "application/json"
SIGNATURE_HEADER = "X-Signature"
MAX_SEGMENTS = 1000
MAX_BODY_BYTES = 256 * 1024
MAX_SEGMENT_ID = 255

_MAX_AGE_RE = re.compile(r"(?:^|[,\s])max-age\s*=\s*(\d+)", re.IGNORECASE)


class ProtocolError(ValueError):
    """A provider answer that is not valid protocol v1."""


@dataclass(frozen=True)
class Answer:
    """A valid answer: the segments (possibly none) and how long it may be reused."""

    segments: tuple[SegmentResult, ...]
    ttl_s: int | None = None

    @property
    def empty(self) -> bool:
        return not self.segments


def request_body(
    *,
    request_id: str,
    dpid: int,
    uuid: str,
    dpuuid: str | None,
    signals: Mapping[str, Sequence[str]],
    consent: Mapping[str, object] | None,
    deadline_ms: int,
) -> bytes:
    user: dict[str, str] = {"uuid": uuid}
    if dpuuid:
        user["dpuuid"] = dpuuid
    doc: dict[str, Any] = {
        "v": 1,
        "request_id": request_id,
        "dpid": dpid,
        "user": user,
        "signals": {k: list(v) for k, v in signals.items() if not k.startswith("p_")},
        "deadline_ms": deadline_ms,
    }
    if consent:
        doc["consent"] = dict(consent)
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def signature(key: bytes, body: bytes, *, digest: str = "sha256") -> str:
    """Base64 HMAC of the exact body (``X-Signature``)."""
    return base64.b64encode(hmac.new(key, body, digest).digest()).decode("ascii")


def max_age(cache_control: str | None) -> int | None:
    if not cache_control:
        return None
    m = _MAX_AGE_RE.search(cache_control)
    return int(m.group(1)) if m else None


def parse_segments(raw: Any, *, max_segments: int = MAX_SEGMENTS) -> tuple[SegmentResult, ...]:
    """Validate a ``segments`` list: ids non-empty strings <= 255 chars, status 0 or 1."""
    if not isinstance(raw, list):
        raise ProtocolError("segments is not a list")
    if len(raw) > max_segments:
        raise ProtocolError(f"{len(raw)} segments, more than the limit of {max_segments}")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ProtocolError("a segment is not an object")
        sid = item.get("id")
        if isinstance(sid, int) and not isinstance(sid, bool):
            sid = str(sid)
        if not isinstance(sid, str) or not sid or len(sid) > MAX_SEGMENT_ID:
            raise ProtocolError("a segment id is not a non-empty string of at most 255 chars")
        status = item.get("status", 1)
        if status not in (0, 1) or isinstance(status, bool):
            raise ProtocolError(f"segment {sid!r} has status {status!r}, not 0 or 1")
        out.append(SegmentResult(sid, int(status)))
    return tuple(out)


def parse_answer(
    status_code: int,
    body: bytes,
    *,
    content_type: str | None = None,
    cache_control: str | None = None,
    max_segments: int = MAX_SEGMENTS,
    max_bytes: int = MAX_BODY_BYTES,
) -> Answer:
    """A v1 answer from a raw HTTP response, or ProtocolError."""
    header_ttl = max_age(cache_control)
    if status_code == 204:
        return Answer((), header_ttl)
    if status_code != 200:
        raise ProtocolError(f"HTTP {status_code}")
    if len(body) > max_bytes:
        raise ProtocolError(f"body of {len(body)} bytes, over the limit of {max_bytes}")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting fits in the limit
        raise ProtocolError("body is not JSON") from None
    if not isinstance(doc, dict):
        raise ProtocolError("body is not a JSON object")
    segments = parse_segments(doc.get("segments", []), max_segments=max_segments)
    ttl = doc.get("ttl_s")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
        raise ProtocolError("ttl_s is not a non-negative integer")
    return Answer(segments, ttl if ttl is not None else header_ttl)
