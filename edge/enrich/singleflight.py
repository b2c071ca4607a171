"""Single-flight: at most one call in flight per key, however many callers wait on it.

``start(key, factory)`` returns the running task for `key`, creating it from `factory` only
when none is in flight. ``wait(task, timeout_s)`` waits for it through ``asyncio.shield``:
a waiter's timeout or cancellation ends only that wait, never the shared call, so a late
answer still completes (and whatever the call does on completion, e.g. fill a cache, still
happens). The shared call should bound itself; ``cancel_all()`` stops what is left.

Calls should return their failures as values rather than raise: an exception nobody waits
for would only be logged by asyncio. Errors: ``wait`` raises ``TimeoutError`` when
`timeout_s` passes first, and whatever the call raised otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any


class SingleFlight[K: Hashable, T]:
    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Task[T]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, key: K) -> asyncio.Task[T] | None:
        return self._calls.get(key)

    def start(
        self, key: K, factory: Callable[[], Coroutine[Any, Any, T]]
    ) -> tuple[asyncio.Task[T], bool]:
        """The task for `key` and whether it was already in flight (joined)."""
        task = self._calls.get(key)
        if task is not None:
            return task, True
        task = asyncio.get_running_loop().create_task(factory())
        self._calls[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return task, False

    @staticmethod
    async def wait(task: asyncio.Task[T], timeout_s: float) -> T:
        return await asyncio.wait_for(asyncio.shield(task), max(timeout_s, 0.0))

    async def cancel_all(self) -> None:
        tasks = list(self._calls.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, key: K, task: asyncio.Task[T]) -> None:
        if self._calls.get(key) is task:
            del self._calls[key]
