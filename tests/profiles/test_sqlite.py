"""SQLite-specific behaviour: pragmas, locking, and translation of sqlite3 errors."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from edge.profiles import Profile, StoreCorrupt, StoreError, StoreUnavailable
from edge.profiles.sqlite import MEMORY, SqliteStore, translate
from tests.profiles._workers import bump, count

UUID = "1" * 38


def test_file_store_is_wal_and_fully_synchronous(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "p.db"))
    try:
        conn = store._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    finally:
        store.close()


def test_each_thread_gets_its_own_connection(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "p.db"))
    try:
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(id(store._conn())))
        thread.start()
        thread.join()
        assert seen and seen[0] != id(store._conn())
    finally:
        store.close()


def test_memory_store_is_shared_by_threads() -> None:
    store = SqliteStore(MEMORY)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: store.update(UUID, bump, now=1), range(40)))
        assert count(store.load(UUID)) == 40
    finally:
        store.close()


def test_writer_locked_out_past_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    store = SqliteStore(str(path), busy_timeout_ms=50)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="locked"):
            store.update(UUID, bump, now=1)
        holder.execute("ROLLBACK")
        assert count(store.update(UUID, bump, now=2)) == 1  # nothing half-done was kept
    finally:
        holder.close()
        store.close()


def test_file_that_is_not_a_database_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    path.write_bytes(b"this is not a sqlite database, just some text " * 100)
    with pytest.raises(StoreCorrupt):
        SqliteStore(str(path))


def test_undecodable_profile_row_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    store = SqliteStore(str(path))
    try:
        store.update(UUID, bump, now=1)
        with contextlib.closing(sqlite3.connect(path)) as raw, raw:
            raw.execute("UPDATE profiles SET data = '{\"uuid\": 5}'")
        with pytest.raises(StoreCorrupt, match=r"profile\.uuid"):
            store.load(UUID)

        def never(profile: Profile) -> None:
            raise AssertionError("fn must not run on a corrupt profile")

        with pytest.raises(StoreCorrupt):
            store.update(UUID, never, now=2)
    finally:
        store.close()


def _error(code: int, cls: type[sqlite3.Error] = sqlite3.OperationalError) -> sqlite3.Error:
    exc = cls("boom")
    exc.sqlite_errorcode = code
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_error(sqlite3.SQLITE_BUSY), StoreUnavailable),
        (_error(sqlite3.SQLITE_CANTOPEN), StoreUnavailable),
        (_error(sqlite3.SQLITE_CORRUPT, sqlite3.DatabaseError), StoreCorrupt),
        (_error(sqlite3.SQLITE_NOTADB, sqlite3.DatabaseError), StoreCorrupt),
        (_error(sqlite3.SQLITE_IOERR_SHORT_READ, sqlite3.OperationalError), StoreUnavailable),
        (sqlite3.IntegrityError("constraint"), StoreError),
        (sqlite3.ProgrammingError("closed"), StoreError),
    ],
)
def test_translate(exc: sqlite3.Error, expected: type[StoreError]) -> None:
    assert type(translate(exc)) is expected
