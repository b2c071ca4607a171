"""The profile store contract every backend implements.

The DCS keeps one ``Profile`` per visitor, an alias index from partner/declared ids to
visitor uuids, and opt-out records. Stores are synchronous (the DCS calls them from a
thread pool) and safe to share between threads and between worker processes.

Errors (one tree for this boundary; backends translate sqlite3/redis errors into it)::

    StoreError            any failure of the store itself
    +-- StoreUnavailable  the backend cannot serve now (locked past the busy timeout,
    |                     connection refused or lost, too many write conflicts): retry later
    +-- StoreCorrupt      stored data is damaged (not a database, malformed page, a record
                          that does not decode): needs an operator

    InvalidStoreURL       a ValueError: ``open_store`` was given a URL it cannot use

Exceptions raised by the callback given to ``update()`` are not store errors: they
propagate unchanged and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from edge.profiles.model import Profile

GLOBAL = 0
"""Partner code under which backends record a global opt-out (partner ids are positive)."""


class StoreError(Exception):
    """The profile store failed."""


class StoreUnavailable(StoreError):
    """The backend cannot serve the request now; the same call may succeed later."""


class StoreCorrupt(StoreError):
    """Stored data is damaged or does not decode."""


class InvalidStoreURL(ValueError):
    """A store URL that names no known backend or lacks a required part."""


@dataclass
class StoreStats:
    """How many profiles exist, and how many hold each trait id and segment id."""

    profiles: int = 0
    traits: dict[int, int] = field(default_factory=dict)
    segments: dict[int, int] = field(default_factory=dict)

    def add(self, profile: Profile) -> None:
        """Count one more profile (used by backends that compute stats in Python)."""
        self.profiles += 1
        for tid in profile.traits:
            self.traits[tid] = self.traits.get(tid, 0) + 1
        for sid in profile.segments:
            self.segments[sid] = self.segments.get(sid, 0) + 1


class ProfileStore(Protocol):
    """Visitor profiles, id aliases and opt-outs (see the module docstring for errors)."""

    def load(self, uuid: str) -> Profile | None:
        """The stored profile, or None when the visitor has none."""
        ...

    def update(self, uuid: str, fn: Callable[[Profile], None], *, now: int) -> Profile:
        """Atomic read-modify-write of one visitor's profile.

        Loads the profile (or starts ``Profile(uuid, now, now)``), calls ``fn`` to mutate
        it in place, sets ``updated_ts = now``, stores it durably and returns it.
        Concurrent calls for one uuid, from any thread or process, serialize: no update is
        lost. ``fn`` may run more than once (a backend may retry on a write conflict, each
        time on a freshly loaded profile), so it must only mutate what it is given. If
        ``fn`` raises, nothing is stored and the exception propagates. The returned
        profile is ``fn``'s view: the stored one has each trait's days capped.
        """
        ...

    def link(self, namespace: str, key: str, uuid: str, *, now: int) -> None:
        """Map ``(namespace, key)`` to ``uuid``; the most recent call wins.

        Namespaces used by callers: ``"dpid:<n>"``, ``"mid"``, ``"cid_ic:<code>"``.
        """
        ...

    def resolve(self, namespace: str, key: str) -> str | None:
        """The uuid ``(namespace, key)`` maps to, or None."""
        ...

    def opt_out(self, uuid: str, *, partner: int | None = None, now: int) -> None:
        """Record an opt-out: global when ``partner`` is None, else for that partner.

        Opt-outs are separate records: ``delete()`` of the profile keeps them.
        """
        ...

    def is_opted_out(self, uuid: str, *, partner: int | None = None) -> bool:
        """Whether the visitor opted out globally, or (given ``partner``) of that partner."""
        ...

    def delete(self, uuid: str) -> bool:
        """Remove the profile and every alias pointing to it; True if a profile existed."""
        ...

    def stats(self) -> StoreStats:
        """Profile, trait and segment counts (an admin operation: may scan every profile)."""
        ...

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
        ...


def partner_code(partner: int | None) -> int:
    """The stored partner code of an opt-out: ``GLOBAL`` for None, else the partner id."""
    if partner is None:
        return GLOBAL
    if isinstance(partner, bool) or not isinstance(partner, int) or partner <= 0:
        raise ValueError(f"partner must be a positive integer or None, got {partner!r}")
    return partner


def check_alias(namespace: str, key: str) -> None:
    """Reject empty alias parts (they would silently alias unrelated visitors)."""
    if not namespace or not key:
        raise ValueError(f"alias namespace and key must be non-empty, got {namespace!r}, {key!r}")
