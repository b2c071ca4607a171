"""The embedded profile store: one SQLite file shared by every worker process.

Durability and concurrency:

- WAL journal: readers never block the single writer, and a process killed mid-write
  leaves the last committed transaction intact (the WAL is replayed or ignored on open).
- ``synchronous=FULL``: each commit fsyncs the WAL before it returns, so an acknowledged
  write survives an OS crash or power loss too. ``NORMAL`` would survive a killed process
  but may lose the last commits on power loss, which breaks the store's promise.
- ``update()`` runs in ``BEGIN IMMEDIATE``: it takes the write lock before reading, so
  read-modify-write cycles of concurrent processes serialize instead of losing updates.
  Waiting writers retry for ``busy_timeout_ms``, then get ``StoreUnavailable``.
- One connection per thread (``threading.local``): sqlite3 connections must not be used
  by two threads at once, and the DCS calls the store from a thread pool. An in-memory
  store (``":memory:"``, for tests) has a single connection guarded by a lock instead,
  since each connection to ``:memory:`` would be a different database.

``stats()`` is a scan of every profile (done in SQL with ``json_each``): it is an
admin/reporting operation. Maintained counters would add writes to every ``update()`` on
the hot path to speed up a report that runs rarely; the scan is always consistent with
the data, read from one snapshot while writers go on.

sqlite3 exceptions are translated into the ``StoreError`` tree where they enter.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

from edge.profiles.base import (
    GLOBAL,
    StoreCorrupt,
    StoreError,
    StoreStats,
    StoreUnavailable,
    check_alias,
    partner_code,
)
from edge.profiles.model import Profile, ProfileDecodeError

MEMORY = ":memory:"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS profiles ("
    " uuid TEXT PRIMARY KEY, data TEXT NOT NULL, updated INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS aliases ("
    " namespace TEXT NOT NULL, key TEXT NOT NULL, uuid TEXT NOT NULL,"
    " updated INTEGER NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS aliases_uuid ON aliases (uuid)",
    "CREATE TABLE IF NOT EXISTS optouts ("
    " uuid TEXT NOT NULL, partner INTEGER NOT NULL, created INTEGER NOT NULL,"
    " PRIMARY KEY (uuid, partner)) WITHOUT ROWID",
)

_UPSERT_PROFILE = (
    "INSERT INTO profiles (uuid, data, updated) VALUES (?, ?, ?)"
    " ON CONFLICT (uuid) DO UPDATE SET data = excluded.data, updated = excluded.updated"
)
_UPSERT_ALIAS = (
    "INSERT INTO aliases (namespace, key, uuid, updated) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (namespace, key) DO UPDATE SET uuid = excluded.uuid, updated = excluded.updated"
)
_COUNT_KEYS = (
    "SELECT CAST(j.key AS INTEGER), count(*) FROM profiles, json_each(profiles.data, ?) AS j"
    " GROUP BY j.key"
)

_CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def translate(exc: sqlite3.Error) -> StoreError:
    """The ``StoreError`` for a sqlite3 exception."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _CORRUPT_CODES:
        return StoreCorrupt(f"sqlite database is damaged: {exc}")
    if isinstance(exc, sqlite3.OperationalError):
        return StoreUnavailable(f"sqlite: {exc}")
    return StoreError(f"sqlite: {exc}")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc) from exc


def _decode(data: str) -> Profile:
    try:
        return Profile.from_json(data)
    except ProfileDecodeError as exc:
        raise StoreCorrupt(f"stored profile does not decode: {exc}") from exc


class SqliteStore:
    """``ProfileStore`` on one SQLite file (or ``":memory:"``)."""

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000) -> None:
        if not path:
            raise ValueError("sqlite store path must not be empty")
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._registry = threading.Lock()
        self._closed = False
        # :memory: databases are per connection: share one connection under a lock.
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if path == MEMORY else contextlib.nullcontext()
        )
        with self._transaction("BEGIN IMMEDIATE") as conn, _translated():
            for statement in _SCHEMA:
                conn.execute(statement)

    # -- connections and transactions -------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout_ms / 1000,  # sets SQLite's busy_timeout
            isolation_level=None,  # autocommit: transactions are explicit below
            check_same_thread=False,  # close() runs on any thread
        )
        try:
            if self._path != MEMORY:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("profile store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._all and self._path == MEMORY:
                conn = self._all[0]
            else:
                conn = self._open()
                with self._registry:
                    self._all.append(conn)
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """Run the block in one transaction; roll back if it raises anything."""
        with self._serial:
            with _translated():
                conn = self._conn()
                conn.execute(begin)
            try:
                yield conn
                with _translated():
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._serial, _translated():
            return self._conn().execute(sql, params).fetchall()

    # -- the contract ------------------------------------------------------------------

    def load(self, uuid: str) -> Profile | None:
        rows = self._query("SELECT data FROM profiles WHERE uuid = ?", (uuid,))
        return _decode(rows[0][0]) if rows else None

    def update(self, uuid: str, fn: Callable[[Profile], None], *, now: int) -> Profile:
        with self._transaction("BEGIN IMMEDIATE") as conn:
            with _translated():
                row = conn.execute("SELECT data FROM profiles WHERE uuid = ?", (uuid,)).fetchone()
            profile = _decode(row[0]) if row else Profile(uuid, now, now)
            fn(profile)
            if profile.uuid != uuid:
                raise ValueError(f"update callback changed the profile uuid to {profile.uuid!r}")
            profile.updated_ts = now
            data = profile.to_json()
            with _translated():
                conn.execute(_UPSERT_PROFILE, (uuid, data, now))
        return profile

    def link(self, namespace: str, key: str, uuid: str, *, now: int) -> None:
        check_alias(namespace, key)
        with self._transaction("BEGIN IMMEDIATE") as conn, _translated():
            conn.execute(_UPSERT_ALIAS, (namespace, key, uuid, now))

    def resolve(self, namespace: str, key: str) -> str | None:
        rows = self._query(
            "SELECT uuid FROM aliases WHERE namespace = ? AND key = ?", (namespace, key)
        )
        return str(rows[0][0]) if rows else None

    def opt_out(self, uuid: str, *, partner: int | None = None, now: int) -> None:
        code = partner_code(partner)
        with self._transaction("BEGIN IMMEDIATE") as conn, _translated():
            conn.execute(
                "INSERT OR IGNORE INTO optouts (uuid, partner, created) VALUES (?, ?, ?)",
                (uuid, code, now),
            )

    def is_opted_out(self, uuid: str, *, partner: int | None = None) -> bool:
        codes = {GLOBAL, partner_code(partner)}
        marks = ", ".join("?" * len(codes))
        rows = self._query(
            f"SELECT 1 FROM optouts WHERE uuid = ? AND partner IN ({marks}) LIMIT 1",
            (uuid, *codes),
        )
        return bool(rows)

    def delete(self, uuid: str) -> bool:
        with self._transaction("BEGIN IMMEDIATE") as conn, _translated():
            removed = conn.execute("DELETE FROM profiles WHERE uuid = ?", (uuid,)).rowcount
            conn.execute("DELETE FROM aliases WHERE uuid = ?", (uuid,))
        return removed > 0

    def stats(self) -> StoreStats:
        # One read transaction: every count comes from the same snapshot.
        with self._transaction("BEGIN DEFERRED") as conn, _translated():
            profiles = conn.execute("SELECT count(*) FROM profiles").fetchone()[0]
            traits = dict(conn.execute(_COUNT_KEYS, ("$.traits",)).fetchall())
            segments = dict(conn.execute(_COUNT_KEYS, ("$.segments",)).fetchall())
        return StoreStats(profiles=int(profiles), traits=traits, segments=segments)

    def close(self) -> None:
        with self._registry:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
