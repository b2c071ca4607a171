"""The text of the "DCS hit" debugging view (pure formatting; the addon feeds it a flow).

``render(hit)`` lays a DCS event hit out as indented ``key: value`` lines (YAML-like, so a
YAML highlighter colours it): the request line, the ids, consent, the signals grouped by
prefix (``c_`` customer, ``d_`` DCS control, ``h_`` header, ``p_`` private: values masked,
never shown), the enrichment trace per provider (status, ms, cache, segments) under its
deadline, and what the DCS answered (traits, segments, destinations, errors).

The trace is the plain-data dict of ``edge.trace`` (``flow.metadata["edge"]``); any part of it
may be missing (a hit the edge has not enriched yet, a fail-open answer, an old recording).
No errors of its own: unexpected shapes are shown as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge.trace import degraded

MASK = "<masked>"
PREFIXES = (("c_", "customer"), ("d_", "DCS control"), ("h_", "header"), ("p_", "private"))
ID_KEYS = ("d_uuid", "d_mid", "d_cid", "d_cid_ic", "d_dpid", "d_dpuuid")
CONSENT_KEYS = ("gdpr", "gdpr_consent", "d_coppa")
_SHORT = 40


@dataclass(frozen=True)
class HitView:
    method: str
    path: str  # without the query
    pairs: Sequence[tuple[str, str]] = ()  # query + form pairs, in order
    trace: Mapping[str, Any] = field(default_factory=dict)
    answer: Mapping[str, Any] | None = None  # what the DCS answered, when known
    side: str = "request"  # request | response
    status: int | None = None  # the response status, when rendering the response


def render(hit: HitView) -> str:
    lines = [f"DCS hit: {hit.method} {hit.path}"]
    if hit.side == "response" and hit.status is not None:
        lines[0] += f" -> {hit.status}"
    if hit.trace.get("degraded"):
        lines.append(f"degraded: {hit.trace['degraded']}")
    lines += _section("ids", _ids(hit))
    lines += _section("consent", _consent(hit))
    lines += _signals(hit.pairs)
    lines += _enrichment(hit.trace)
    lines += _answer(hit.answer)
    return "\n".join(lines) + "\n"


def mask(key: str, value: str) -> str:
    """A value as the view shows it: ``p_`` values never appear."""
    return MASK if key.startswith("p_") else value


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= _SHORT else f"{text[:_SHORT]}... ({len(text)} chars)"


def _section(title: str, rows: Iterable[tuple[str, object]]) -> list[str]:
    body = [f"  {k}: {v}" for k, v in rows]
    return [f"{title}:"] + (body or ["  (none)"])


def _first(pairs: Sequence[tuple[str, str]], key: str) -> str | None:
    return next((v for k, v in pairs if k == key), None)


def _ids(hit: HitView) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    if hit.trace.get("uuid"):
        rows.append(("visitor", f"{hit.trace['uuid']} (from {hit.trace.get('uuid_source')})"))
    rows += [(k, v) for k, v in hit.pairs if k in ID_KEYS]
    return rows


def _consent(hit: HitView) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [
        (k, _short(v)) for k in CONSENT_KEYS if (v := _first(hit.pairs, k)) is not None
    ]
    if hit.trace.get("gdpr") is not None and _first(hit.pairs, "gdpr") is None:
        rows.append(("gdpr (edge)", hit.trace["gdpr"]))
    if hit.trace.get("coppa"):
        rows.append(("coppa (edge)", "yes"))
    return rows


def _signals(pairs: Sequence[tuple[str, str]]) -> list[str]:
    out = ["signals:"]
    for prefix, label in PREFIXES:
        group = [(k, v) for k, v in pairs if k.startswith(prefix) and k not in ID_KEYS]
        if group:
            out.append(f"  {prefix} ({label}):")
            out += [f"    {k}: {_short(mask(k, v))}" for k, v in group]
    known = tuple(p for p, _ in PREFIXES)
    other = [(k, v) for k, v in pairs
             if not k.startswith(known) and k not in CONSENT_KEYS and k not in ID_KEYS]
    if other:
        out.append("  other:")
        out += [f"    {k}: {_short(v)}" for k, v in other]
    return out if len(out) > 1 else ["signals:", "  (none)"]


def _enrichment(trace: Mapping[str, Any]) -> list[str]:
    providers = trace.get("providers")
    if not isinstance(providers, list):
        return ["enrichment:", "  (not enriched)"]
    head = (f"enrichment: deadline {trace.get('deadline_ms')} ms, took "
            f"{trace.get('enrich_ms')} ms (edge {trace.get('edge_ms')} ms)")
    out = [head]
    width = max((len(str(p.get("name", ""))) for p in providers), default=0)
    for p in providers:
        segs = ", ".join(str(s.get("id")) for s in p.get("segments", [])) or "-"
        out.append(
            f"  {str(p.get('name')):<{width}}  {str(p.get('status')):<15} "
            f"{float(p.get('ms', 0)):>8.1f} ms  cache={p.get('cache')}  segments: {segs}"
        )
    bad = degraded(trace)
    if bad:
        out.append(f"  degraded: {' '.join(bad)}")
    return out


def _answer(answer: Mapping[str, Any] | None) -> list[str]:
    if answer is None:
        return ["DCS answer:", "  (none yet)"]
    rows: list[tuple[str, object]] = []
    for key in ("uuid", "tid"):
        if key in answer:
            rows.append((key, answer[key]))
    for key in ("traits", "segments"):
        if key in answer:
            rows.append((key, ", ".join(map(str, answer[key] or [])) or "-"))
    for d in answer.get("dests") or []:
        rows.append(("dest", _dest(d)))
    for e in answer.get("errors") or []:
        rows.append(("error", _error(e)))
    return _section("DCS answer", rows)


def _dest(d: object) -> str:
    if isinstance(d, Mapping):
        return f"{d.get('id', '?')} ({d.get('y', '?')}) {_short(d.get('c', ''))}".strip()
    return _short(d)


def _error(e: object) -> str:
    if isinstance(e, Mapping):
        return f"{e.get('code')} {e.get('msg', '')}".strip()
    return _short(e)
