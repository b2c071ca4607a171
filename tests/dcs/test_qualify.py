from __future__ import annotations

import pytest

from edge.dcs.qualify import Engines, Hit, Onboarded, ProfileHistory, qualify
from edge.profiles import Profile, TraitRecord
from edge.rules.segments import SegmentDef, SegmentEngine
from edge.rules.traits import TraitDef, TraitEngine
from edge.rules.ttl import DAY, day_number

NOW = 1_700_000_000  # 22:13 UTC
TRAITS = [
    TraitDef(1, 'c_a == "1"', dpid=10, folder=9),
    TraitDef(2, 'c_b == "1"', dpid=20),
    TraitDef(3, 'ic == "sports"', kind="onboarded", dpid=1001),
    TraitDef(4, "", kind="folder", folder=9),
    TraitDef(5, 'c_d == "1"', ttl_days=1),
    TraitDef(6, 'c_e == "1"', ttl_days=0),
    TraitDef(7, "p_age < 25"),
]
SEGMENTS = [
    SegmentDef(100, "1T"),
    SegmentDef(101, "3T"),
    SegmentDef(102, "FREQUENCY([2T] <= 2D) >= 2"),
    SegmentDef(103, "1T AND NOT 3T"),
]
ENGINES = Engines(TraitEngine(TRAITS), SegmentEngine(SEGMENTS))


def run(profile: Profile, **kwargs: object) -> tuple[frozenset[int], frozenset[int]]:
    hit = Hit(now=kwargs.pop("now", NOW), **kwargs)  # type: ignore[arg-type]
    out = qualify(ENGINES, profile, hit)
    return out.realized, out.segments


@pytest.mark.parametrize(
    ("kwargs", "realized", "segments"),
    [
        ({"signals": {"c_a": ["1"]}}, {1, 4}, {100, 103}),
        ({"signals": {"c_a": ["1"], "c_b": ["1"]}, "dpids": frozenset({20})}, {2}, set()),
        ({"signals": {"c_a": ["1"], "c_b": ["1"]}, "dpids": frozenset({10})}, {1, 4}, {100, 103}),
        ({"sids": [2, 99]}, {2}, set()),
        ({"sids": [2], "dpids": frozenset({10})}, set(), set()),
        ({"onboarded": [Onboarded(1001, "SPORTS")]}, {3}, {101}),
        ({"onboarded": [Onboarded(1001, "other"), Onboarded(1002, "sports")]}, set(), set()),
        ({"signals": {"p_age": ["23"]}}, {7}, set()),
        ({"signals": {"c_a": ["1"]}, "onboarded": [Onboarded(1001, "sports")]}, {1, 3, 4},
         {100, 101}),
    ],
)
def test_realizes_and_qualifies(
    kwargs: dict[str, object], realized: set[int], segments: set[int]
) -> None:
    assert run(Profile("u", NOW, NOW), **kwargs) == (realized, segments)


def test_records_first_last_expiry_and_days() -> None:
    profile = Profile("u", NOW, NOW)
    run(profile, signals={"c_b": ["1"]})
    run(profile, signals={"c_b": ["1"]}, now=NOW + 60)
    rec = profile.traits[2]
    assert (rec.first_ts, rec.last_ts) == (NOW, NOW + 60)
    assert rec.expires_ts == NOW + 60 + 120 * DAY
    assert rec.days == {day_number(NOW): 2}
    assert 102 in profile.segments


@pytest.mark.parametrize(("sid", "key", "expires"), [(5, "c_d", NOW + 26 * 3600), (6, "c_e", None)])
def test_ttl_rules(sid: int, key: str, expires: int | None) -> None:
    profile = Profile("u", NOW, NOW)
    run(profile, signals={key: ["1"]})
    assert profile.traits[sid].expires_ts == expires


def test_expired_traits_are_dropped_and_segments_follow() -> None:
    profile = Profile("u", NOW, NOW)
    run(profile, signals={"c_a": ["1"]})
    assert set(profile.segments) == {100, 103}
    realized, segments = run(profile, signals={"c_b": ["1"]}, now=NOW + 121 * DAY)
    assert 1 not in profile.traits and 4 not in profile.traits
    assert segments == set() and profile.segments == {}


def test_onboarded_status_zero_removes_the_trait() -> None:
    profile = Profile("u", NOW, NOW)
    run(profile, signals={"c_a": ["1"]}, onboarded=[Onboarded(1001, "sports")])
    assert set(profile.segments) == {100, 101}
    out = qualify(ENGINES, profile, Hit(now=NOW + 5, onboarded=[Onboarded(1001, "sports", 0)]))
    assert out.removed == {3} and 3 not in profile.traits
    assert out.segments == {100, 103} and out.new_segments == {103}


def test_onboarded_counts_one_realization() -> None:
    profile = Profile("u", NOW, NOW)
    for step in range(3):
        run(profile, onboarded=[Onboarded(1001, "sports")], now=NOW + DAY * step)
    rec = profile.traits[3]
    assert sum(rec.days.values()) == 1 and rec.last_ts == NOW + 2 * DAY


def test_segment_keeps_its_first_qualification_time() -> None:
    profile = Profile("u", NOW, NOW)
    run(profile, signals={"c_a": ["1"]})
    run(profile, signals={"c_a": ["1"]}, now=NOW + 100)
    assert profile.segments[100] == NOW


def test_profile_history_view() -> None:
    profile = Profile("u", NOW, NOW, traits={
        1: TraitRecord(NOW, NOW, NOW + 10, {5: 2}), 2: TraitRecord(NOW, NOW, None, {})
    })
    history = ProfileHistory(profile, NOW + 10)
    assert not history.active(1) and history.active(2) and not history.active(3)
    assert history.days(1) == {5: 2} and history.days(3) == {}
