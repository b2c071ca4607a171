from __future__ import annotations

import json

import pytest

from edge.profiles import MAX_DAY_BUCKETS, Profile, ProfileDecodeError, TraitRecord

UUID = "12345678901234567890123456789012345678"


def full_profile() -> Profile:
    return Profile(
        uuid=UUID,
        created_ts=100,
        updated_ts=200,
        traits={
            42: TraitRecord(first_ts=100, last_ts=200, expires_ts=None, days={19_000: 3}),
            43: TraitRecord(first_ts=150, last_ts=150, expires_ts=900, days={}),
        },
        segments={9: 150},
        partner_ids={411: "abc", 20915: "IDFA-UPPER"},
        attrs={"c_page": ["home"], "d_ua": ["x", "y"]},
    )


def test_round_trip() -> None:
    profile = full_profile()
    assert Profile.from_json(profile.to_json()) == profile


def test_round_trip_of_bytes() -> None:
    assert Profile.from_json(full_profile().to_json().encode()) == full_profile()


def test_empty_profile_round_trips() -> None:
    profile = Profile(UUID, 1, 1)
    assert Profile.from_json(profile.to_json()) == profile


def test_json_is_plain_with_string_keys() -> None:
    doc = json.loads(full_profile().to_json())
    assert doc["traits"]["42"]["days"] == {"19000": 3}
    assert doc["partner_ids"] == {"411": "abc", "20915": "IDFA-UPPER"}


@pytest.mark.parametrize(
    ("days", "kept"),
    [
        (MAX_DAY_BUCKETS, range(0, MAX_DAY_BUCKETS)),
        (MAX_DAY_BUCKETS + 1, range(1, MAX_DAY_BUCKETS + 1)),
        (MAX_DAY_BUCKETS * 2, range(MAX_DAY_BUCKETS, MAX_DAY_BUCKETS * 2)),
    ],
)
def test_days_capped_to_most_recent(days: int, kept: range) -> None:
    # inserted newest first: the cap must go by day number, not insertion order
    record = TraitRecord(0, 0, None, {d: d + 1 for d in reversed(range(days))})
    profile = Profile(UUID, 0, 0, traits={1: record})
    decoded = Profile.from_json(profile.to_json())
    assert decoded.traits[1].days == {d: d + 1 for d in kept}
    assert len(record.days) == days  # serialising does not touch the live object


def _with(**changes: object) -> str:
    doc = json.loads(full_profile().to_json())
    doc.update(changes)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (_with(v=2), "version"),
        (_with(uuid=5), "profile.uuid"),
        (_with(created_ts="1"), "profile.created_ts"),
        (_with(updated_ts=True), "profile.updated_ts"),
        (_with(segments={"x": 1}), "profile.segments key 'x'"),
        (_with(segments={"1": 1.5}), r"profile.segments\[1\]"),
        (_with(traits={"1": []}), r"profile.traits\[1\] must be a JSON object"),
        (_with(traits={"1": {"first_ts": 1}}), r"profile.traits\[1\].last_ts"),
        (_with(partner_ids={"411": 7}), r"profile.partner_ids\[411\]"),
        (_with(attrs={"c_a": "x"}), r"profile.attrs\[c_a\]"),
        (_with(attrs={"c_a": [1]}), r"profile.attrs\[c_a\]"),
    ],
)
def test_decode_errors(text: str | bytes, message: str) -> None:
    with pytest.raises(ProfileDecodeError, match=message):
        Profile.from_json(text)


def test_trait_expiry_and_days_are_optional() -> None:
    text = _with(traits={"1": {"first_ts": 1, "last_ts": 2}})
    assert Profile.from_json(text).traits[1] == TraitRecord(1, 2, None, {})


def test_decode_error_is_value_error() -> None:
    assert issubclass(ProfileDecodeError, ValueError)
