"""Fixtures for the profile store tests: a store per backend (the redis-server fixtures are in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.profiles import ProfileStore, open_store

BACKENDS = ["sqlite", "redis"]


@pytest.fixture
def redis_url(empty_redis: int) -> str:
    """A URL on the private server, database emptied before the test."""
    return f"redis://127.0.0.1:{empty_redis}/0?prefix=test:"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path}/profiles.db"


@pytest.fixture
def store(store_url: str) -> Iterator[ProfileStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()
