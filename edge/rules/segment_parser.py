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
The boolean layer (``AND``, ``OR``, ``NOT``, parentheses) is `edge.rules.boolean`'s; this
module adds trait ids and frequencies. Raises `RuleError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from edge.rules.boolean import BooleanParser, Tree, leaves
from edge.rules.errors import RuleError

_TOKEN = re.compile(r"(?P<op>>=|<=|==|=>)|(?P<punct>[()\[\],])|(?P<word>[A-Za-z0-9_]+)")


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


type Node = Tree[Ref | Frequency]


def parse_segment(rule: str) -> Node:
    """The syntax tree of segment rule `rule`; raises `RuleError`."""
    return _Parser(_tokenize(rule)).rule()


def trait_ids_of(node: Node) -> frozenset[int]:
    found: Iterator[Ref | Frequency] = leaves(node)
    return frozenset(
        sid for leaf in found for sid in (leaf.sids if isinstance(leaf, Frequency) else (leaf.sid,))
    )


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


class _Parser(BooleanParser[Tok, Ref | Frequency]):
    def is_keyword(self, token: Tok, word: str) -> bool:
        return token.kind == "word" and token.text.lower() == word

    def opens(self, token: Tok) -> bool:
        return token.kind == "punct" and token.text == "("

    def closes(self, token: Tok) -> bool:
        return token.kind == "punct" and token.text == ")"

    def ends(self, token: Tok) -> bool:
        return token.kind == "end"

    def describe(self, token: Tok) -> str:
        return "end of rule" if token.kind == "end" else f"'{token.text}'"

    def leaf(self) -> Ref | Frequency:
        tok = self.peek
        if tok.kind == "trait":
            self.take()
            return Ref(int(tok.text[:-1]))
        if self.is_keyword(tok, "frequency"):
            return self.frequency()
        raise RuleError(
            tok.pos, f"expected a trait id, FREQUENCY or '(', got {self.describe(tok)}"
        )

    def expect(self, kind: str, text: str | None, what: str) -> Tok:
        tok = self.take()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise RuleError(tok.pos, f"expected {what}, got {self.describe(tok)}")
        return tok

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
            raise RuleError(tok.pos, f"expected {what}, got {self.describe(tok)}")
        return text
