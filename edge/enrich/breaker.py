"""A circuit breaker per provider.

``closed``: calls go through; a failure is remembered for ``window_s``. When ``failures``
failures fall within the window the breaker opens. ``open``: no call for ``open_s``; then
``half_open``: exactly ONE probe call is let through (``allow()`` is True once); its success
closes the breaker (and forgets the failures), its failure opens it again for ``open_s``.
A probe that is abandoned (cancelled) frees the slot for the next probe.

No errors of its own. Time comes from an injected clock (seconds, monotonic).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Literal

from edge.config import BreakerConfig

State = Literal["closed", "open", "half_open"]


class Breaker:
    def __init__(
        self,
        config: BreakerConfig,
        *,
        clock: Callable[[], float],
        on_change: Callable[[State], None] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._on_change = on_change
        self._failures: deque[float] = deque()
        self._state: State = "closed"
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> State:
        """The current state (an open breaker whose open period is over reads half_open)."""
        if self._state == "open" and self._clock() - self._opened_at >= self._config.open_s:
            self._set("half_open")
        return self._state

    def allow(self) -> bool:
        """Whether a call may start now; in half_open only the first caller gets True."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        """A call succeeded; in half_open this closes the breaker (late successes while open
        are ignored: only the probe decides)."""
        self._probing = False
        if self._state == "half_open":
            self._failures.clear()
            self._set("closed")

    def failure(self) -> None:
        now = self._clock()
        self._probing = False
        if self._state == "half_open":
            self._open(now)
            return
        if self._state == "open":
            return
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self._config.window_s:
            self._failures.popleft()
        if len(self._failures) >= self._config.failures:
            self._open(now)

    def abandon(self) -> None:
        """A call that started was cancelled before it finished: free the probe slot."""
        self._probing = False

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._failures.clear()
        self._set("open")

    def _set(self, state: State) -> None:
        if state != self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)
