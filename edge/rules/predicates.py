"""Compile a trait-rule syntax tree into a predicate over a hit's signals.

Signals map a wire key to its values (a serialized ``a,b`` is already split by the caller).
A comparison holds when ANY value of its key satisfies it; ``!=`` holds when the key is
present and NO value equals. A comparison on an absent key is false (so ``NOT`` of it is true).

Values compare as numbers when both sides are plain decimals (``1``, ``-2.50``, ``.5``), so
``price == 1`` matches ``1.00``; equality also holds for equal strings. Ordering operators
(``< > <= >=``) need a number in the rule (checked at load) and are false for a signal value
that is not a number. Unless `case_sensitive`, strings compare case-insensitively: the engine
lower-cases the signal values once per hit and the rule values once here. ``matchesregex``
uses Python's `re` with search semantics (the pattern may match anywhere), compiled here.
``matcheswords`` holds when any blank-separated word of the rule value is a blank-separated
word of a signal value. Raises `RuleError` for a bad regex or a bad number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from edge.rules.errors import RuleError
from edge.rules.parser import And, Compare, Node, Not, Or

type Signals = Mapping[str, Sequence[str]]
type Predicate = Callable[[Signals], bool]
type ValueTest = Callable[[str], bool]

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def number(text: str) -> float | None:
    """`text` as a number when it is a plain decimal, else None."""
    return float(text) if _NUMBER.fullmatch(text) else None


def compile_node(node: Node, *, case_sensitive: bool) -> Predicate:
    """A predicate equivalent to `node`; expects signal values folded like the rule values."""
    match node:
        case Compare():
            return _compare(node, case_sensitive)
        case Not(operand=operand):
            inner = compile_node(operand, case_sensitive=case_sensitive)
            return lambda signals: not inner(signals)
        case And(operands=ops):
            parts = tuple(compile_node(op, case_sensitive=case_sensitive) for op in ops)
            return lambda signals: all(part(signals) for part in parts)
        case Or(operands=ops):
            parts = tuple(compile_node(op, case_sensitive=case_sensitive) for op in ops)
            return lambda signals: any(part(signals) for part in parts)


def _compare(node: Compare, case_sensitive: bool) -> Predicate:
    key = node.key
    if node.op == "!=":
        equal = _value_test(Compare(key, "==", node.value, node.value_pos), case_sensitive)

        def differs(signals: Signals) -> bool:
            values = signals.get(key)
            if not values:
                return False
            for value in values:
                if equal(value):
                    return False
            return True

        return differs
    test = _value_test(node, case_sensitive)

    def holds(signals: Signals) -> bool:
        values = signals.get(key)
        if not values:
            return False
        for value in values:  # a loop, not any(): this is the hot path of every hit
            if test(value):
                return True
        return False

    return holds


def _value_test(node: Compare, case_sensitive: bool) -> ValueTest:
    op, raw = node.op, node.value
    if op == "matchesregex":
        return _regex(raw, node.value_pos, case_sensitive)
    want = raw if case_sensitive else raw.lower()
    if op == "==":
        want_num = number(want)
        if want_num is None:
            return lambda v: v == want
        return lambda v: v == want or number(v) == want_num
    if op in ("<", ">", "<=", ">="):
        return _ordering(op, want, node.value_pos)
    if op == "contains":
        return lambda v: want in v
    if op == "startswith":
        return lambda v: v.startswith(want)
    if op == "endswith":
        return lambda v: v.endswith(want)
    return _words(want, node.value_pos)


def _ordering(op: str, want: str, pos: int) -> ValueTest:
    bound = number(want)
    if bound is None:
        raise RuleError(pos, f"'{op}' needs a number, got '{want}'")
    compare: Callable[[float], bool] = {
        "<": lambda x: x < bound,
        ">": lambda x: x > bound,
        "<=": lambda x: x <= bound,
        ">=": lambda x: x >= bound,
    }[op]

    def test(value: str) -> bool:
        x = number(value)
        return x is not None and compare(x)

    return test


def _regex(pattern: str, pos: int, case_sensitive: bool) -> ValueTest:
    try:
        compiled = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise RuleError(pos, f"invalid regular expression: {exc}") from None
    return lambda v: compiled.search(v) is not None


def _words(want: str, pos: int) -> ValueTest:
    words = frozenset(want.split())
    if not words:
        raise RuleError(pos, "matcheswords needs at least one word")
    return lambda v: not words.isdisjoint(v.split())
