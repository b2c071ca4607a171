"""The per-hit enrichment trace: a plain-data dict the edge keeps on the flow.

Built by the addon, read by the Server-Timing header, the structured log line, the debugging
view and the marks in the flow list. Keys: ``uuid``, ``uuid_source``, ``signals``, ``gdpr``,
``coppa``, ``deadline_ms``, ``enrich_ms``, ``edge_ms``, ``providers`` (envelope provider
results as JSON, ``ProviderResult.json``: shared between hits, so read-only) and, once the DCS
answered, ``answer`` (uuid, traits, segments, dests, errors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# Outcomes that mean the visitor got less than the providers could have given.
DEGRADED = frozenset({"timeout", "error", "breaker_open"})
_TOKEN = re.compile(r"[^A-Za-z0-9!#$%&'*+.^_`|~-]")


def server_timing(trace: Mapping[str, Any]) -> str:
    """``Server-Timing`` value: the whole fan-out, then one metric per provider."""
    parts = [f'edge;dur={trace.get("enrich_ms", 0)};desc="deadline {trace.get("deadline_ms")}ms"']
    for p in trace.get("providers", []):
        name = _TOKEN.sub("-", str(p.get("name", "")))
        parts.append(f'p-{name};dur={p.get("ms", 0)};desc="{p.get("status")}/{p.get("cache")}"')
    return ", ".join(parts)


def degraded(trace: Mapping[str, Any]) -> list[str]:
    """Providers whose outcome degraded this hit, as ``name:status``."""
    return [
        f'{p["name"]}:{p["status"]}' for p in trace.get("providers", [])
        if p.get("status") in DEGRADED
    ]


def summary(trace: Mapping[str, Any]) -> str:
    """One line for the flow list and the demo output."""
    provs = " ".join(
        f'{p["name"]}={p["status"]}/{p["ms"]:.0f}ms'
        + ("(cache)" if p.get("cache") == "hit" else "")
        for p in trace.get("providers", [])
    )
    answer = trace.get("answer") or {}
    segs = answer.get("segments")
    seg_text = f" segments={','.join(map(str, segs))}" if segs else ""
    return f'visitor {trace.get("uuid")} [{provs}] {trace.get("enrich_ms")}ms{seg_text}'


def read_answer(body: bytes, content_type: str) -> dict[str, Any] | None:
    """What the DCS answered (JSON or JSONP), reduced to what a trace keeps."""
    if "json" not in content_type and "javascript" not in content_type:
        return None
    text = body.decode("utf-8", "replace").strip()
    if text and not text.startswith("{"):
        start, end = text.find("("), text.rfind(")")
        text = text[start + 1:end] if 0 <= start < end else ""
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    return {k: doc[k] for k in ("uuid", "tid", "traits", "segments", "dests", "stuff", "errors")
            if k in doc}
