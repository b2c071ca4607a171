"""The boolean layer shared by the trait-rule and the segment-rule languages.

Each language brings its own tokens and its own leaves (a comparison, a trait id, a
frequency); this module joins leaves with ``AND``, ``OR``, ``NOT`` and parentheses::

    rule    := or END
    or      := and ("OR" and)*
    and     := not (("AND" | <implied before NOT>) not)*
    not     := "NOT" not | primary
    primary := "(" or ")" | leaf

Keywords are case-insensitive. Precedence, high to low: ``( )``, leaves, ``NOT``, ``AND``,
``OR``. ``a NOT b`` and ``a AND NOT b`` both mean "a and not b". Parentheses nest at most
`MAX_DEPTH` deep. Raises `RuleError` with the position of the offending token.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from edge.rules.errors import RuleError

MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Not[N]:
    operand: N


@dataclass(frozen=True, slots=True)
class And[N]:
    operands: tuple[N, ...]


@dataclass(frozen=True, slots=True)
class Or[N]:
    operands: tuple[N, ...]


# A rule over leaves of type `L`: a leaf, or a boolean node over sub-rules.
type Tree[L] = L | Not[Tree[L]] | And[Tree[L]] | Or[Tree[L]]


def leaves[L](tree: Tree[L]) -> Iterator[L]:
    """The leaves of `tree`, left to right."""
    match tree:
        case Not(operand=operand):
            yield from leaves(operand)
        case And(operands=operands) | Or(operands=operands):
            for operand in operands:
                yield from leaves(operand)
        case _:
            yield tree


class Positioned(Protocol):
    """A token; the boolean layer itself reads only where it starts."""

    @property
    def pos(self) -> int: ...


class BooleanParser[T: Positioned, L](ABC):
    """A recursive-descent parser of `Tree[L]` over tokens `T`, ending with an end token.

    A language subclasses it and says which tokens are the keywords, the parentheses and the
    end, how a token reads in an error, and how to parse one leaf (`leaf`, which consumes its
    tokens through `peek` and `take` and raises `RuleError` when none starts at `peek`).
    """

    def __init__(self, tokens: Sequence[T]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @abstractmethod
    def is_keyword(self, token: T, word: str) -> bool:
        """Whether `token` is keyword `word` (given in lower case)."""

    @abstractmethod
    def opens(self, token: T) -> bool:
        """Whether `token` is an opening parenthesis."""

    @abstractmethod
    def closes(self, token: T) -> bool:
        """Whether `token` is a closing parenthesis."""

    @abstractmethod
    def ends(self, token: T) -> bool:
        """Whether `token` is the end of the rule."""

    @abstractmethod
    def describe(self, token: T) -> str:
        """`token` as an error message names it (``"'x'"``, ``"end of rule"``)."""

    @abstractmethod
    def leaf(self) -> L:
        """Parse the leaf starting at `peek`, which is no keyword and no '('."""

    @property
    def peek(self) -> T:
        return self.tokens[self.i]

    def take(self) -> T:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def rule(self) -> Tree[L]:
        """The whole rule; every token up to the end token must belong to it."""
        if self.ends(self.peek):
            raise RuleError(0, "empty rule")
        node = self.or_()
        rest = self.peek
        if not self.ends(rest):
            raise RuleError(
                rest.pos, f"expected AND, OR or end of rule, got {self.describe(rest)}"
            )
        return node

    def or_(self) -> Tree[L]:
        operands = [self.and_()]
        while self.is_keyword(self.peek, "or"):
            self.take()
            operands.append(self.and_())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_(self) -> Tree[L]:
        operands = [self.not_()]
        while self.is_keyword(self.peek, "and") or self.is_keyword(self.peek, "not"):
            if self.is_keyword(self.peek, "and"):
                self.take()
            operands.append(self.not_())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_(self) -> Tree[L]:
        if self.is_keyword(self.peek, "not"):
            self.take()
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Tree[L]:
        if self.opens(self.peek):
            return self.group()
        return self.leaf()

    def group(self) -> Tree[L]:
        opening = self.take()
        if self.depth >= MAX_DEPTH:
            raise RuleError(opening.pos, f"parentheses nested deeper than {MAX_DEPTH}")
        self.depth += 1
        node = self.or_()
        self.depth -= 1
        closing = self.take()
        if not self.closes(closing):
            raise RuleError(
                closing.pos,
                f"expected ')' to close '(' at position {opening.pos}, "
                f"got {self.describe(closing)}",
            )
        return node
