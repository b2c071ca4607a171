"""Comparing what the DCS answered for a hit then (a recording) and now (a replay).

``compare(recorded, replayed, same_visitor=...)`` lists the differences between two answers
as reduced by ``edge.trace.read_answer``: traits and segments (as sets), destination ids,
error codes, and the visitor id when the hit named its visitor (``same_visitor``). The
transaction id always differs and is ignored. An empty list means the answers agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HitResult:
    """One replayed hit: where it was, and the differences found (none: it agrees)."""

    flow_id: str
    path: str
    diffs: tuple[str, ...] = ()


@dataclass
class Report:
    results: list[HitResult] = field(default_factory=list)

    @property
    def failed(self) -> list[HitResult]:
        return [r for r in self.results if r.diffs]

    def summary(self) -> str:
        lines = [f"{len(self.results)} hits replayed, {len(self.failed)} differ"]
        for r in self.failed:
            lines.append(f"  {r.flow_id} {r.path}")
            lines += [f"    {d}" for d in r.diffs]
        return "\n".join(lines)


def _ids(values: Iterable[Any] | None) -> set[str]:
    return {str(v) for v in values or ()}


def _dest_ids(dests: Iterable[Any] | None) -> set[str]:
    return {str(d.get("id")) if isinstance(d, Mapping) else str(d) for d in dests or ()}


def _error_codes(errors: Iterable[Any] | None) -> set[str]:
    return {str(e.get("code")) if isinstance(e, Mapping) else str(e) for e in errors or ()}


def compare(
    recorded: Mapping[str, Any] | None,
    replayed: Mapping[str, Any] | None,
    *,
    same_visitor: bool = False,
) -> list[str]:
    """The differences between two DCS answers (empty: they agree)."""
    if recorded is None or replayed is None:
        if recorded is replayed:
            return []
        return [f"answer: {'none' if recorded is None else 'present'} then, "
                f"{'none' if replayed is None else 'present'} now"]
    diffs: list[str] = []
    for key, reduce in (("traits", _ids), ("segments", _ids), ("dests", _dest_ids),
                        ("errors", _error_codes)):
        then, now = reduce(recorded.get(key)), reduce(replayed.get(key))
        if then != now:
            gone, new = sorted(then - now), sorted(now - then)
            diffs.append(f"{key}: lost {gone or '-'}, gained {new or '-'}")
    if same_visitor and recorded.get("uuid") != replayed.get("uuid"):
        diffs.append(f"uuid: {recorded.get('uuid')} then, {replayed.get('uuid')} now")
    return diffs
