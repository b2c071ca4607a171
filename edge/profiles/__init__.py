"""Visitor profiles: the contract, the data model and the SQLite and Redis backends.

``open_store(url)`` picks the backend from a URL:

- ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or a bare path: SQLite
  (the embedded default; three slashes then the path, as in SQLAlchemy URLs);
- ``sqlite://:memory:``: a private in-memory SQLite database (tests);
- ``redis://host:port/db``, ``rediss://...`` or ``unix://...``, with an optional
  ``?prefix=<key prefix>``: Redis.

Errors are the tree in ``edge.profiles.base``; a URL that names no backend raises
``InvalidStoreURL`` (a ``ValueError``).
"""

from __future__ import annotations

from edge.profiles.base import (
    InvalidStoreURL,
    ProfileStore,
    StoreCorrupt,
    StoreError,
    StoreStats,
    StoreUnavailable,
)
from edge.profiles.model import MAX_DAY_BUCKETS, Profile, ProfileDecodeError, TraitRecord

__all__ = [
    "MAX_DAY_BUCKETS",
    "InvalidStoreURL",
    "Profile",
    "ProfileDecodeError",
    "ProfileStore",
    "StoreCorrupt",
    "StoreError",
    "StoreStats",
    "StoreUnavailable",
    "TraitRecord",
    "open_store",
]

_SQLITE = "sqlite://"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_store(url: str) -> ProfileStore:
    """Open the profile store ``url`` names (see the module docstring for the forms)."""
    if url.startswith(_SQLITE):
        from edge.profiles.sqlite import MEMORY, SqliteStore

        rest = url[len(_SQLITE) :]
        if rest == MEMORY:
            return SqliteStore(MEMORY)
        if not rest.startswith("/") or rest == "/":
            raise InvalidStoreURL(f"sqlite store URL needs sqlite:///<path>, got {url!r}")
        return SqliteStore(rest[1:])
    if url.lower().startswith(_REDIS_SCHEMES):
        from edge.profiles.redis_store import RedisStore

        return RedisStore.from_url(url)
    if "://" in url or not url:
        raise InvalidStoreURL(f"unsupported profile store URL {url!r} (sqlite:// or redis://)")
    from edge.profiles.sqlite import SqliteStore

    return SqliteStore(url)
