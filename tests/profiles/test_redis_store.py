"""Redis-specific behaviour: optimistic retries, key layout, error translation."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import redis

from edge.profiles import Profile, StoreCorrupt, StoreUnavailable
from edge.profiles.redis_store import RedisStore, split_url
from tests.profiles._workers import bump, count

UUID = "1" * 38


@pytest.fixture
def client_url(redis_url: str) -> str:
    return split_url(redis_url)[0]


@pytest.fixture
def raw(client_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(client_url)
    yield client
    client.close()


def make_store(raw: redis.Redis, **options: int) -> RedisStore:
    return RedisStore(raw, prefix="test:", **options)


def test_conflicting_write_is_retried_on_fresh_data(raw: redis.Redis, client_url: str) -> None:
    store, other = make_store(raw), make_store(redis.Redis.from_url(client_url))
    calls = []

    def bump_once_interfering(profile: Profile) -> None:
        calls.append(count(profile))
        if len(calls) == 1:
            other.update(UUID, bump, now=1)  # lands between our WATCH and EXEC
        bump(profile)

    result = store.update(UUID, bump_once_interfering, now=2)
    assert calls == [0, 1]
    assert count(result) == count(store.load(UUID)) == 2
    other.close()


def test_endless_conflicts_give_up_after_max_retries(raw: redis.Redis, client_url: str) -> None:
    store = make_store(raw, max_retries=3)
    other = make_store(redis.Redis.from_url(client_url))
    calls = []

    def always_interfering(profile: Profile) -> None:
        calls.append(1)
        other.update(UUID, bump, now=1)
        bump(profile)

    with pytest.raises(StoreUnavailable, match="conflict"):
        store.update(UUID, always_interfering, now=2)
    assert len(calls) == 3
    assert count(store.load(UUID)) == 3  # only the other writer's updates were stored
    other.close()


def test_key_layout(raw: redis.Redis) -> None:
    store = make_store(raw)
    store.update(UUID, bump, now=1)
    store.link("dpid:411", "a:b", UUID, now=1)
    store.opt_out(UUID, partner=411, now=7)
    assert Profile.from_json(raw.get(f"test:p:{UUID}") or b"").uuid == UUID
    assert raw.get("test:a:dpid%3A411:a:b") == UUID.encode()
    assert raw.smembers(f"test:r:{UUID}") == {b"dpid%3A411:a:b"}
    assert raw.hgetall(f"test:o:{UUID}") == {b"411": b"7"}


def test_relink_moves_the_reverse_reference(raw: redis.Redis) -> None:
    store = make_store(raw)
    store.link("mid", "m", UUID, now=1)
    store.link("mid", "m", "2" * 38, now=2)
    assert raw.smembers(f"test:r:{UUID}") == set()
    assert raw.smembers(f"test:r:{'2' * 38}") == {b"mid:m"}


def test_prefixes_isolate_stores(raw: redis.Redis) -> None:
    first, second = RedisStore(raw, prefix="a*:"), RedisStore(raw, prefix="a:")
    first.update(UUID, bump, now=1)
    assert second.load(UUID) is None
    assert second.stats().profiles == 0  # the glob in the prefix is escaped
    assert first.stats().profiles == 1


def test_undecodable_profile_is_corrupt(raw: redis.Redis) -> None:
    raw.set(f"test:p:{UUID}", b"not json")
    store = make_store(raw)
    with pytest.raises(StoreCorrupt):
        store.load(UUID)
    with pytest.raises(StoreCorrupt):
        store.stats()


def test_server_gone_is_unavailable(disposable_redis: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, port = disposable_redis
    store = RedisStore.from_url(f"redis://127.0.0.1:{port}/0")
    store.update(UUID, bump, now=1)
    proc.kill()
    proc.wait()
    with pytest.raises(StoreUnavailable):
        store.load(UUID)
    with pytest.raises(StoreUnavailable):
        store.update(UUID, bump, now=2)
    store.close()
