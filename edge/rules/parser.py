"""Parse a trait rule into a small syntax tree.

Grammar (keywords and named operators are case-insensitive)::

    rule       := or END
    or         := and ("OR" and)*
    and        := not (("AND" | <implied before NOT>) not)*
    not        := "NOT" not | primary
    primary    := "(" or ")" | comparison
    comparison := KEY OPERATOR VALUE
    OPERATOR   := == != < > <= >= => = | contains startswith endswith matchesregex matcheswords
    VALUE      := "double quoted" | 'single quoted' | bare word or number

Precedence, high to low: ``( )``, comparisons, ``NOT``, ``AND``, ``OR`` (a comparison is
always ``key op value``, so the documented split between ``< > <= >=`` and ``== !=`` never
needs a rule of its own). ``=>`` is read as ``>=`` and the UI's single ``=`` as ``==``.
``a NOT b`` and ``a AND NOT b`` both mean "a and not b". The boolean layer (``AND``, ``OR``,
``NOT``, parentheses) is `edge.rules.boolean`'s; this module adds the comparisons. Raises
`RuleError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.rules.boolean import And, BooleanParser, Not, Or, Tree, leaves
from edge.rules.errors import RuleError
from edge.rules.lexer import Kind, Token, tokenize

__all__ = ["COMPARISONS", "NAMED", "And", "Compare", "Node", "Not", "Or", "keys_of", "parse"]

COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">="})
NAMED = frozenset({"contains", "startswith", "endswith", "matchesregex", "matcheswords"})
_SYNONYMS = {"=": "==", "=>": ">="}
_KEYWORDS = frozenset({"and", "or", "not"})
_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True, slots=True)
class Compare:
    key: str
    op: str  # one of COMPARISONS or NAMED, normalized
    value: str
    value_pos: int


type Node = Tree[Compare]


def parse(rule: str) -> Node:
    """The syntax tree of `rule`; raises `RuleError` with the offending position."""
    return _Parser(tokenize(rule)).rule()


def keys_of(node: Node) -> frozenset[str]:
    """Every key the rule reads."""
    return frozenset(compare.key for compare in leaves(node))


class _Parser(BooleanParser[Token, Compare]):
    def is_keyword(self, token: Token, word: str) -> bool:
        return token.kind is Kind.WORD and token.text.lower() == word

    def opens(self, token: Token) -> bool:
        return token.kind is Kind.LPAREN

    def closes(self, token: Token) -> bool:
        return token.kind is Kind.RPAREN

    def ends(self, token: Token) -> bool:
        return token.kind is Kind.END

    def describe(self, token: Token) -> str:
        if token.kind is Kind.END:
            return "end of rule"
        if token.kind is Kind.STRING:
            return "a quoted string"
        return f"'{token.text}'"

    def leaf(self) -> Compare:
        token = self.peek
        if token.kind is not Kind.WORD or token.text.lower() in _KEYWORDS:
            raise RuleError(token.pos, f"expected a condition, got {self.describe(token)}")
        return self.comparison()

    def comparison(self) -> Compare:
        key = self.take()
        if not _KEY.fullmatch(key.text) or key.text.isdigit():
            raise RuleError(key.pos, f"invalid key '{key.text}'")
        op_token = self.take()
        op = self.operator(op_token, key.text)
        value = self.take()
        if value.kind is Kind.STRING or (
            value.kind is Kind.WORD and value.text.lower() not in _KEYWORDS
        ):
            return Compare(key.text, op, value.text, value.pos)
        raise RuleError(value.pos, f"expected a value after '{op_token.text}'")

    def operator(self, token: Token, key: str) -> str:
        if token.kind is Kind.OP:
            return _SYNONYMS.get(token.text, token.text)
        if token.kind is Kind.WORD and token.text.lower() in NAMED:
            return token.text.lower()
        raise RuleError(
            token.pos, f"expected an operator after '{key}', got {self.describe(token)}"
        )
