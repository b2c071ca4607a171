"""The ProfileStore contract, run against every backend (see conftest.store_url)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from edge.profiles import MAX_DAY_BUCKETS, Profile, ProfileStore, StoreError, TraitRecord
from tests.profiles._workers import bump, count

U1 = "1" * 38
U2 = "2" * 38
NOW = 1_700_000_000


def fill(profile: Profile) -> None:
    profile.traits[101] = TraitRecord(NOW - 50, NOW, NOW + 86_400, {19_675: 2, 19_676: 1})
    profile.traits[102] = TraitRecord(NOW, NOW, None, {19_676: 1})
    profile.segments[7] = NOW
    profile.partner_ids[411] = "partner-user-9"
    profile.attrs["c_color"] = ["red", "blue"]


def test_load_missing_is_none(store: ProfileStore) -> None:
    assert store.load(U1) is None


def test_update_creates_and_round_trips(store: ProfileStore) -> None:
    returned = store.update(U1, fill, now=NOW)
    assert returned == store.load(U1)
    assert (returned.created_ts, returned.updated_ts) == (NOW, NOW)
    assert returned.traits[101].days == {19_675: 2, 19_676: 1}
    assert returned.partner_ids == {411: "partner-user-9"}


def test_update_keeps_created_and_sets_updated(store: ProfileStore) -> None:
    store.update(U1, bump, now=NOW)
    second = store.update(U1, bump, now=NOW + 60)
    loaded = store.load(U1)
    assert loaded is not None
    assert (loaded.created_ts, loaded.updated_ts) == (NOW, NOW + 60)
    assert count(loaded) == count(second) == 2


def test_stored_days_are_capped(store: ProfileStore) -> None:
    def many_days(profile: Profile) -> None:
        profile.traits[5] = TraitRecord(NOW, NOW, None, {d: 1 for d in range(MAX_DAY_BUCKETS + 25)})

    store.update(U1, many_days, now=NOW)
    loaded = store.load(U1)
    assert loaded is not None
    assert sorted(loaded.traits[5].days) == list(range(25, MAX_DAY_BUCKETS + 25))


class Boom(Exception):
    pass


def explode_after_bump(profile: Profile) -> None:
    bump(profile)
    raise Boom("no")


def test_failing_fn_stores_nothing_new(store: ProfileStore) -> None:
    with pytest.raises(Boom):
        store.update(U1, explode_after_bump, now=NOW)
    assert store.load(U1) is None


def test_failing_fn_leaves_existing_profile(store: ProfileStore) -> None:
    store.update(U1, bump, now=NOW)
    with pytest.raises(Boom):
        store.update(U1, explode_after_bump, now=NOW + 1)
    loaded = store.load(U1)
    assert loaded is not None
    assert (count(loaded), loaded.updated_ts) == (1, NOW)
    assert count(store.update(U1, bump, now=NOW + 2)) == 2  # the store is still usable


def test_fn_may_not_change_uuid(store: ProfileStore) -> None:
    def rename(profile: Profile) -> None:
        profile.uuid = U2

    with pytest.raises(ValueError, match="uuid"):
        store.update(U1, rename, now=NOW)
    assert store.load(U1) is None and store.load(U2) is None


def test_alias_most_recent_wins(store: ProfileStore) -> None:
    assert store.resolve("dpid:411", "abc") is None
    store.link("dpid:411", "abc", U1, now=NOW)
    assert store.resolve("dpid:411", "abc") == U1
    store.link("dpid:411", "abc", U2, now=NOW + 1)
    assert store.resolve("dpid:411", "abc") == U2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("dpid:411", "abc"), ("dpid:412", "abc")),
        (("dpid:5", "x:y"), ("dpid:5:x", "y")),  # a colon must not make two aliases collide
        (("mid", "abc"), ("cid_ic:mid", "abc")),
    ],
)
def test_aliases_are_distinct(
    store: ProfileStore, first: tuple[str, str], second: tuple[str, str]
) -> None:
    store.link(*first, U1, now=NOW)
    store.link(*second, U2, now=NOW)
    assert (store.resolve(*first), store.resolve(*second)) == (U1, U2)


@pytest.mark.parametrize(("namespace", "key"), [("", "abc"), ("mid", "")])
def test_empty_alias_parts_are_rejected(store: ProfileStore, namespace: str, key: str) -> None:
    with pytest.raises(ValueError):
        store.link(namespace, key, U1, now=NOW)


@pytest.mark.parametrize(
    ("recorded", "asked", "expected"),
    [
        ([], None, False),
        ([], 411, False),
        ([None], None, True),
        ([None], 411, True),  # a global opt-out counts for every partner
        ([411], 411, True),
        ([411], 412, False),
        ([411], None, False),  # a partner opt-out is not a global one
        ([411, 412], 412, True),
    ],
)
def test_opt_out_global_vs_partner(
    store: ProfileStore, recorded: list[int | None], asked: int | None, expected: bool
) -> None:
    for partner in recorded:
        store.opt_out(U1, partner=partner, now=NOW)
    assert store.is_opted_out(U1, partner=asked) is expected
    assert store.is_opted_out(U2, partner=asked) is False


@pytest.mark.parametrize("partner", [0, -3, True])
def test_bad_partner_is_rejected(store: ProfileStore, partner: int) -> None:
    with pytest.raises(ValueError, match="partner"):
        store.opt_out(U1, partner=partner, now=NOW)


def test_delete_removes_profile_and_its_aliases(store: ProfileStore) -> None:
    store.update(U1, fill, now=NOW)
    store.update(U2, fill, now=NOW)
    store.link("mid", "m1", U1, now=NOW)
    store.link("dpid:411", "p1", U1, now=NOW)
    store.link("dpid:411", "p2", U2, now=NOW)
    store.link("cid_ic:crm", "moved", U1, now=NOW)
    store.link("cid_ic:crm", "moved", U2, now=NOW + 1)  # now points elsewhere: must stay
    assert store.delete(U1) is True
    assert store.load(U1) is None
    assert store.resolve("mid", "m1") is None
    assert store.resolve("dpid:411", "p1") is None
    assert store.resolve("dpid:411", "p2") == U2
    assert store.resolve("cid_ic:crm", "moved") == U2
    assert store.load(U2) is not None
    assert store.delete(U1) is False


def test_delete_keeps_opt_out(store: ProfileStore) -> None:
    store.update(U1, bump, now=NOW)
    store.opt_out(U1, now=NOW)
    store.opt_out(U1, partner=411, now=NOW)
    store.delete(U1)
    assert store.is_opted_out(U1) is True
    assert store.is_opted_out(U1, partner=411) is True


def test_relinked_alias_survives_delete_of_its_old_target(store: ProfileStore) -> None:
    store.link("mid", "m", U1, now=NOW)
    store.link("mid", "m", U2, now=NOW + 1)
    store.link("mid", "m", U1, now=NOW + 2)
    store.delete(U2)
    assert store.resolve("mid", "m") == U1
    store.delete(U1)
    assert store.resolve("mid", "m") is None


def test_stats_counts_profiles_per_trait_and_segment(store: ProfileStore) -> None:
    assert store.stats().profiles == 0

    def one(profile: Profile) -> None:
        profile.traits[101] = TraitRecord(NOW, NOW, None, {})
        profile.segments[7] = NOW

    store.update(U1, fill, now=NOW)  # traits 101, 102; segment 7
    store.update(U2, one, now=NOW)  # trait 101; segment 7
    store.update("3" * 38, bump, now=NOW)  # nothing
    stats = store.stats()
    assert stats.profiles == 3
    assert stats.traits == {101: 2, 102: 1}
    assert stats.segments == {7: 2}
    store.delete(U2)
    assert store.stats().traits == {101: 1, 102: 1}


def test_threads_sharing_one_store_lose_no_update(store: ProfileStore) -> None:
    threads, per_thread = 8, 25
    with ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(lambda: [store.update(U1, bump, now=NOW) for _ in range(per_thread)])
            for _ in range(threads)
        ]
        for future in futures:
            future.result()
    assert count(store.load(U1)) == threads * per_thread


def test_closed_store_refuses_calls(store_url: str) -> None:
    from edge.profiles import open_store

    closed = open_store(store_url)
    closed.update(U1, bump, now=NOW)
    closed.close()
    with pytest.raises(StoreError):
        closed.load(U1)
