from __future__ import annotations

from pathlib import Path

import pytest

from edge.profiles import InvalidStoreURL, StoreUnavailable, open_store
from edge.profiles.redis_store import DEFAULT_PREFIX, RedisStore, split_url
from edge.profiles.sqlite import SqliteStore


@pytest.mark.parametrize("form", ["sqlite:///{path}", "{path}"])
def test_sqlite_urls_open_the_named_file(tmp_path: Path, form: str) -> None:
    path = tmp_path / "p.db"
    store = open_store(form.format(path=path))
    try:
        assert isinstance(store, SqliteStore)
        store.link("mid", "k", "1" * 38, now=1)
    finally:
        store.close()
    assert path.exists()


def test_memory_url_is_private_per_store() -> None:
    first, second = open_store("sqlite://:memory:"), open_store("sqlite://:memory:")
    try:
        first.link("mid", "k", "1" * 38, now=1)
        assert first.resolve("mid", "k") == "1" * 38
        assert second.resolve("mid", "k") is None
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    "url", ["", "sqlite://", "sqlite:///", "sqlite://relative.db", "postgres://h/db", "http://x"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(InvalidStoreURL):
        open_store(url)


def test_redis_url_opens_redis_store(redis_url: str) -> None:
    store = open_store(redis_url)
    try:
        assert isinstance(store, RedisStore)
    finally:
        store.close()


def test_redis_unreachable_is_unavailable() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(StoreUnavailable):
            open_store(f"redis://127.0.0.1:{port}/0")


@pytest.mark.parametrize(
    ("url", "client_url", "prefix"),
    [
        ("redis://h:1/0", "redis://h:1/0", DEFAULT_PREFIX),
        ("redis://h:1/0?prefix=aam:", "redis://h:1/0", "aam:"),
        ("redis://h:1/2?prefix=x&socket_timeout=3", "redis://h:1/2?socket_timeout=3", "x"),
    ],
)
def test_split_url(url: str, client_url: str, prefix: str) -> None:
    assert split_url(url) == (client_url, prefix)


def test_split_url_rejects_two_prefixes() -> None:
    with pytest.raises(InvalidStoreURL):
        split_url("redis://h:1/0?prefix=a&prefix=b")
