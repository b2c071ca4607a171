"""Parse a segment rule into a small syntax tree.

Grammar (keywords are case-insensitive; a trait id is digits followed by ``T``)::

    rule      := or END
    or        := and ("OR" and)*
    and       := not (("AND" | <implied before NOT>) not)*
    not       := "NOT" not | primary
    primary   := "(" or ")" | TRAIT | frequency
    frequency := "FREQUENCY" "(" "[" TRAIT ("," TRAIT)* "]" [RECENCY_OP DAYS] ")" FREQ_OP COUNT
    RECENCY_OP := >= | <=          DAYS := digits "D", more than 0
    FREQ_OP    := >= | <= | ==     COUNT := digits

``=>`` is read as ``>=``. Precedence, high to low: ``( )``, ``NOT``, ``AND``, ``OR``.
Examples: ``123T OR 456T``, ``(frequency([123T, 456T] <= 2D) >= 5) AND NOT 9T``.
Raises `RuleError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.rules.errors import RuleError

_TOKEN = re.compile(r"(?P<op>>=|<=|==|=>)|(?P<punct>[()\[\],])|(?P<word>[A-Za-z0-9_]+)")
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # "op", "punct", "trait", "days", "number", "word", "end"
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class Ref:
    sid: int


@dataclass(frozen=True, slots=True)
class Frequency:
    sids: tuple[int, ...]
    recency: tuple[str, int] | None  # (">=" | "<=", days)
    op: str  # ">=", "<=" or "=="
    count: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


type Node = Ref | Frequency | Not | And | Or


def parse_segment(rule: str) -> Node:
    """The syntax tree of segment rule `rule`; raises `RuleError`."""
    return _Parser(_tokenize(rule)).rule()


def trait_ids_of(node: Node) -> frozenset[int]:
    match node:
        case Ref(sid=sid):
            return frozenset((sid,))
        case Frequency(sids=sids):
            return frozenset(sids)
        case Not(operand=operand):
            return trait_ids_of(operand)
        case And(operands=ops) | Or(operands=ops):
            return frozenset().union(*(trait_ids_of(op) for op in ops))


def _tokenize(rule: str) -> list[Tok]:
    tokens: list[Tok] = []
    i = _skip_blanks(rule, 0)
    while i < len(rule):
        m = _TOKEN.match(rule, i)
        if m is None:
            raise RuleError(i, f"unexpected character '{rule[i]}'")
        kind = m.lastgroup or ""
        text = m.group(kind)
        tokens.append(Tok(_classify(text, i) if kind == "word" else kind, text, i))
        i = _skip_blanks(rule, m.end())
    tokens.append(Tok("end", "", len(rule)))
    return tokens


def _skip_blanks(rule: str, i: int) -> int:
    while i < len(rule) and rule[i].isspace():
        i += 1
    return i


def _classify(word: str, pos: int) -> str:
    if word.isdigit():
        return "number"
    if word[:-1].isdigit() and word[-1] in "Tt":
        return "trait"
    if word[:-1].isdigit() and word[-1] in "Dd":
        return "days"
    if word.lower() in ("and", "or", "not", "frequency"):
        return "word"
    raise RuleError(pos, f"unknown word '{word}' (a trait id is written like 123T)")


def _describe(tok: Tok) -> str:
    return "end of rule" if tok.kind == "end" else f"'{tok.text}'"


class _Parser:
    def __init__(self, tokens: list[Tok]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> Tok:
        return self.tokens[self.i]

    def at(self, word: str) -> bool:
        tok = self.peek
        return tok.kind == "word" and tok.text.lower() == word

    def take(self) -> Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str, text: str | None, what: str) -> Tok:
        tok = self.take()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise RuleError(tok.pos, f"expected {what}, got {_describe(tok)}")
        return tok

    def rule(self) -> Node:
        if self.peek.kind == "end":
            raise RuleError(0, "empty rule")
        node = self.or_()
        rest = self.tokens[self.i]
        if rest.kind != "end":
            raise RuleError(rest.pos, f"expected AND, OR or end of rule, got {_describe(rest)}")
        return node

    def or_(self) -> Node:
        operands = [self.and_()]
        while self.at("or"):
            self.take()
            operands.append(self.and_())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_(self) -> Node:
        operands = [self.not_()]
        while self.at("and") or self.at("not"):
            if self.at("and"):
                self.take()
            operands.append(self.not_())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_(self) -> Node:
        if self.at("not"):
            self.take()
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek
        if tok.kind == "trait":
            self.take()
            return Ref(int(tok.text[:-1]))
        if self.at("frequency"):
            return self.frequency()
        if tok.kind == "punct" and tok.text == "(":
            return self.group()
        raise RuleError(tok.pos, f"expected a trait id, FREQUENCY or '(', got {_describe(tok)}")

    def group(self) -> Node:
        opening = self.take()
        if self.depth >= _MAX_DEPTH:
            raise RuleError(opening.pos, f"parentheses nested deeper than {_MAX_DEPTH}")
        self.depth += 1
        node = self.or_()
        self.depth -= 1
        self.expect("punct", ")", f"')' to close '(' at position {opening.pos}")
        return node

    def frequency(self) -> Frequency:
        self.take()
        self.expect("punct", "(", "'(' after FREQUENCY")
        self.expect("punct", "[", "'[' before the trait list")
        sids = [self.trait()]
        while self.peek.text == ",":
            self.take()
            sids.append(self.trait())
        self.expect("punct", "]", "',' or ']' in the trait list")
        recency = None
        if self.peek.kind == "op":
            recency = self.recency()
        self.expect("punct", ")", "')' or a recency such as <= 5D")
        op = self.op(("<=", ">=", "=="), "a frequency operator (>=, <= or ==)")
        count = self.expect("number", None, "a count after the frequency operator")
        return Frequency(tuple(sids), recency, op, int(count.text))

    def trait(self) -> int:
        return int(self.expect("trait", None, "a trait id such as 123T").text[:-1])

    def recency(self) -> tuple[str, int]:
        op = self.op(("<=", ">="), "a recency operator (>= or <=)")
        days = self.expect("days", None, "a number of days such as 5D")
        if int(days.text[:-1]) <= 0:
            raise RuleError(days.pos, "recency must be greater than 0 days")
        return op, int(days.text[:-1])

    def op(self, allowed: tuple[str, ...], what: str) -> str:
        tok = self.take()
        text = ">=" if tok.text == "=>" else tok.text
        if tok.kind != "op" or text not in allowed:
            raise RuleError(tok.pos, f"expected {what}, got {_describe(tok)}")
        return text
