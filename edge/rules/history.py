"""What segment qualification needs to know of a profile's trait history.

`History` is the read-only view a profile store hands to `SegmentEngine`; `MemoryHistory` is a
dict-backed one for tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol


class History(Protocol):
    def active(self, sid: int) -> bool:
        """Trait `sid` was realized and has not expired now."""
        ...

    def days(self, sid: int) -> Mapping[int, int]:
        """Realizations of trait `sid` per UTC day number (`edge.rules.ttl.day_number`)."""
        ...


class MemoryHistory:
    """A `History` in two dicts: realizations per trait and day, and expired traits."""

    def __init__(
        self,
        days: Mapping[int, Mapping[int, int]] | None = None,
        *,
        expired: Iterable[int] = (),
    ) -> None:
        self._days: dict[int, dict[int, int]] = {
            sid: dict(per_day) for sid, per_day in (days or {}).items()
        }
        self._expired = set(expired)

    def realize(self, sid: int, day: int, count: int = 1) -> None:
        """Record `count` realizations of `sid` on `day`; re-qualifying makes it active again."""
        per_day = self._days.setdefault(sid, {})
        per_day[day] = per_day.get(day, 0) + count
        self._expired.discard(sid)

    def expire(self, sid: int) -> None:
        self._expired.add(sid)

    def active(self, sid: int) -> bool:
        return sid in self._days and sid not in self._expired

    def days(self, sid: int) -> Mapping[int, int]:
        return self._days.get(sid, {})

    def traits(self) -> frozenset[int]:
        """Every trait ever realized, active or not."""
        return frozenset(self._days)
