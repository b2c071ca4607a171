"""The one error of the rules package.

Errors::

    ValueError
     └── RuleError        a trait or segment rule that cannot be loaded; carries the 0-based
                          character `position` of the problem and a human `reason`

Every bad rule fails when the engine is built, never while a hit is evaluated.
"""

from __future__ import annotations


class RuleError(ValueError):
    """A rule failed to parse or compile.

    `str(err)` reads ``"position 12: expected a value after '=='"``; engines add the rule's
    owner in front (``"trait 12: position 3: ..."``) through `context`.
    """

    def __init__(self, position: int, reason: str, *, context: str = "") -> None:
        self.position = position
        self.reason = reason
        self.context = context
        text = f"position {position}: {reason}"
        super().__init__(f"{context}: {text}" if context else text)

    def within(self, context: str) -> RuleError:
        """The same error, attributed to `context` (e.g. ``"trait 12"``)."""
        return RuleError(self.position, self.reason, context=context)
