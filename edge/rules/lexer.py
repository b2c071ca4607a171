"""Tokens of the trait-rule language.

A rule such as ``(c_make=="A") AND price >= 1.00`` is cut into tokens, each with the 0-based
offset where it starts. Words (keys, bare values, keywords and named operators) are one token
kind; the parser gives them their meaning from context. Raises `RuleError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edge.rules.errors import RuleError


class Kind(Enum):
    LPAREN = "("
    RPAREN = ")"
    OP = "operator"
    STRING = "string"
    WORD = "word"
    END = "end of rule"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the operator, the unquoted string, or the word
    pos: int


# Characters that end a bare word: blanks, parentheses, quotes and operator characters.
_STOP = frozenset(" \t\r\n()\"'<>=!")
_TWO_CHAR_OPS = ("==", "!=", "<=", ">=", "=>")


def tokenize(rule: str) -> list[Token]:
    """Cut `rule` into tokens, ending with one END token."""
    tokens: list[Token] = []
    i, n = 0, len(rule)
    while i < n:
        ch = rule[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(Kind.LPAREN if ch == "(" else Kind.RPAREN, ch, i))
            i += 1
        elif ch in "\"'":
            token, i = _string(rule, i)
            tokens.append(token)
        elif ch in "<>=!":
            token, i = _operator(rule, i)
            tokens.append(token)
        else:
            start = i
            while i < n and rule[i] not in _STOP:
                i += 1
            tokens.append(Token(Kind.WORD, rule[start:i], start))
    tokens.append(Token(Kind.END, "", n))
    return tokens


def _operator(rule: str, i: int) -> tuple[Token, int]:
    pair = rule[i : i + 2]
    if pair in _TWO_CHAR_OPS:
        return Token(Kind.OP, pair, i), i + 2
    if rule[i] == "!":
        raise RuleError(i, "expected '=' after '!'")
    return Token(Kind.OP, rule[i], i), i + 1


def _string(rule: str, start: int) -> tuple[Token, int]:
    """A quoted string. A backslash escapes the quote or a backslash; any other backslash is
    kept, so regex values such as ``"^\\d+$"`` need no doubling."""
    quote = rule[start]
    out: list[str] = []
    i = start + 1
    while i < len(rule):
        ch = rule[i]
        if ch == "\\" and i + 1 < len(rule) and rule[i + 1] in (quote, "\\"):
            out.append(rule[i + 1])
            i += 2
        elif ch == quote:
            return Token(Kind.STRING, "".join(out), start), i + 1
        else:
            out.append(ch)
            i += 1
    raise RuleError(start, "unterminated string")
