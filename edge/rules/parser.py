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
``a NOT b`` and ``a AND NOT b`` both mean "a and not b". Raises `RuleError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.rules.errors import RuleError
from edge.rules.lexer import Kind, Token, tokenize

COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">="})
NAMED = frozenset({"contains", "startswith", "endswith", "matchesregex", "matcheswords"})
_SYNONYMS = {"=": "==", "=>": ">="}
_KEYWORDS = frozenset({"and", "or", "not"})
_KEY = re.compile(r"[A-Za-z0-9_.\-]+")
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Compare:
    key: str
    op: str  # one of COMPARISONS or NAMED, normalized
    value: str
    value_pos: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


type Node = Compare | Not | And | Or


def parse(rule: str) -> Node:
    """The syntax tree of `rule`; raises `RuleError` with the offending position."""
    return _Parser(tokenize(rule)).rule()


def keys_of(node: Node) -> frozenset[str]:
    """Every key the rule reads."""
    match node:
        case Compare(key=key):
            return frozenset((key,))
        case Not(operand=operand):
            return keys_of(operand)
        case And(operands=ops) | Or(operands=ops):
            return frozenset().union(*(keys_of(op) for op in ops))


def _is_keyword(token: Token, word: str) -> bool:
    return token.kind is Kind.WORD and token.text.lower() == word


def _describe(token: Token) -> str:
    if token.kind is Kind.END:
        return "end of rule"
    if token.kind is Kind.STRING:
        return "a quoted string"
    return f"'{token.text}'"


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def rule(self) -> Node:
        if self.peek.kind is Kind.END:
            raise RuleError(0, "empty rule")
        node = self.or_()
        rest = self.tokens[self.i]
        if rest.kind is not Kind.END:
            raise RuleError(rest.pos, f"expected AND, OR or end of rule, got {_describe(rest)}")
        return node

    def or_(self) -> Node:
        operands = [self.and_()]
        while _is_keyword(self.peek, "or"):
            self.take()
            operands.append(self.and_())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_(self) -> Node:
        operands = [self.not_()]
        while _is_keyword(self.peek, "and") or _is_keyword(self.peek, "not"):
            if _is_keyword(self.peek, "and"):
                self.take()
            operands.append(self.not_())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_(self) -> Node:
        if _is_keyword(self.peek, "not"):
            self.take()
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Node:
        token = self.peek
        if token.kind is Kind.LPAREN:
            return self.group()
        if token.kind is not Kind.WORD or token.text.lower() in _KEYWORDS:
            raise RuleError(token.pos, f"expected a condition, got {_describe(token)}")
        return self.comparison()

    def group(self) -> Node:
        opening = self.take()
        if self.depth >= _MAX_DEPTH:
            raise RuleError(opening.pos, f"parentheses nested deeper than {_MAX_DEPTH}")
        self.depth += 1
        node = self.or_()
        self.depth -= 1
        if self.peek.kind is not Kind.RPAREN:
            raise RuleError(
                self.peek.pos,
                f"expected ')' to close '(' at position {opening.pos}, got {_describe(self.peek)}",
            )
        self.take()
        return node

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

    @staticmethod
    def operator(token: Token, key: str) -> str:
        if token.kind is Kind.OP:
            return _SYNONYMS.get(token.text, token.text)
        if token.kind is Kind.WORD and token.text.lower() in NAMED:
            return token.text.lower()
        raise RuleError(token.pos, f"expected an operator after '{key}', got {_describe(token)}")
