"""Segment definitions and the engine that qualifies a profile for them.

Semantics of a segment rule (`edge.rules.segment_parser`), for a profile's `History` and the
UTC day number `today`:

- ``123T`` holds while trait 123 is active (realized and not expired);
- ``FREQUENCY([1T, 2T]) >= 5`` sums the realizations of the listed traits that are active,
  over all stored days;
- ``FREQUENCY([1T] <= 5D) ...`` counts only the last 5 days, today included:
  ``today - 4 <= day``;
- ``FREQUENCY([1T] >= 5D) ...`` counts only days at least 5 days ago: ``day <= today - 5``
  (the two windows of the same N split the history without overlap).

A rule that a profile which never realized any of its traits would satisfy (``NOT 5T``,
``FREQUENCY([1000T]) <= 5``) is rejected at load, as Audience Manager does: the engine
evaluates every rule against an empty history. Errors: `RuleError`, naming the segment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from edge.rules.boolean import And, Not, Or
from edge.rules.errors import RuleError
from edge.rules.history import History, MemoryHistory
from edge.rules.segment_parser import Frequency, Node, Ref, parse_segment, trait_ids_of

__all__ = ["History", "MemoryHistory", "SegmentDef", "SegmentEngine"]

type Test = Callable[[History, int], bool]


@dataclass(frozen=True)
class SegmentDef:
    sid: int
    rule: str
    name: str = ""


def compile_segment(node: Node) -> Test:
    """A test of (history, today) equivalent to `node`."""
    match node:
        case Ref(sid=sid):
            return lambda history, today: history.active(sid)
        case Frequency():
            return _frequency(node)
        case Not(operand=operand):
            inner = compile_segment(operand)
            return lambda history, today: not inner(history, today)
        case And(operands=ops):
            parts = tuple(compile_segment(op) for op in ops)
            return lambda history, today: all(part(history, today) for part in parts)
        case Or(operands=ops):
            parts = tuple(compile_segment(op) for op in ops)
            return lambda history, today: any(part(history, today) for part in parts)


def _frequency(node: Frequency) -> Test:
    sids, bound = node.sids, node.count
    recency = node.recency
    compare: Callable[[int], bool] = {
        ">=": lambda n: n >= bound,
        "<=": lambda n: n <= bound,
        "==": lambda n: n == bound,
    }[node.op]

    def test(history: History, today: int) -> bool:
        first, last = _window(recency, today)
        total = 0
        for sid in sids:
            if history.active(sid):
                total += sum(n for day, n in history.days(sid).items() if first <= day <= last)
        return compare(total)

    return test


def _window(recency: tuple[str, int] | None, today: int) -> tuple[float, float]:
    """The first and last day numbers a frequency counts."""
    if recency is None:
        return -math.inf, math.inf
    op, days = recency
    if op == "<=":
        return today - days + 1, math.inf
    return -math.inf, today - days


class SegmentEngine:
    """All segments of a deployment, indexed by the traits their rules read."""

    def __init__(self, segments: Iterable[SegmentDef]) -> None:
        self._segments: dict[int, SegmentDef] = {}
        self._tests: dict[int, Test] = {}
        self._using: dict[int, set[int]] = {}  # trait sid -> segment sids
        for segment in segments:
            try:
                self._add(segment)
            except RuleError as exc:
                raise exc.within(f"segment {segment.sid}") from None

    def _add(self, segment: SegmentDef) -> None:
        if segment.sid in self._segments:
            raise RuleError(0, "duplicate segment sid")
        node = parse_segment(segment.rule)
        test = compile_segment(node)
        if test(MemoryHistory(), 0):
            raise RuleError(
                0,
                "the rule includes profiles that never realized any of its traits "
                "(add a condition such as 123T or FREQUENCY([123T]) >= 1)",
            )
        self._segments[segment.sid] = segment
        self._tests[segment.sid] = test
        for trait in trait_ids_of(node):
            self._using.setdefault(trait, set()).add(segment.sid)

    def using(self, trait_sids: Iterable[int]) -> set[int]:
        """Segments whose rule reads any of `trait_sids`."""
        found: set[int] = set()
        for trait in trait_sids:
            found |= self._using.get(trait, set())
        return found

    def evaluate(self, sid: int, history: History, today: int) -> bool:
        """Whether the profile behind `history` is in segment `sid` on day `today`."""
        return self._tests[sid](history, today)

    def qualify(
        self, history: History, touched: Iterable[int], previous: Iterable[int], today: int
    ) -> set[int]:
        """The segments the profile is in now.

        Evaluates only the segments reading a `touched` trait (those realized by this hit)
        and the `previous` segments of the profile, so the cost grows with the hit and the
        profile, not with the number of segments. A segment that only time can bring a
        profile into (``FREQUENCY([1T] >= 5D) >= 1``) is found when one of its traits is
        touched again; pass the profile's active traits as `touched` to catch it sooner.
        Unknown `previous` sids (segments since deleted) are dropped.
        """
        candidates = self.using(touched)
        candidates.update(sid for sid in previous if sid in self._tests)
        return {sid for sid in candidates if self._tests[sid](history, today)}

    def get(self, sid: int) -> SegmentDef | None:
        return self._segments.get(sid)

    def trait_ids(self) -> frozenset[int]:
        """Every trait id any segment rule reads."""
        return frozenset(self._using)

    def __len__(self) -> int:
        return len(self._segments)
