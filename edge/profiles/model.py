"""The visitor profile kept by the DCS: plain dataclasses with a JSON form.

A profile is what the PCS keeps for one device id (a 38-digit numeric uuid string): the
traits the visitor realized, the segments it qualifies for, its partner ID-sync map and
the last stored signals. The JSON form is the storage format of every backend.

Serialising caps each trait's ``days`` histogram to the ``MAX_DAY_BUCKETS`` most recent
day buckets (by day number): recency and frequency rules never look further back than
that, and the cap keeps a long-lived visitor's record bounded.

Errors: ``from_json`` raises ``ProfileDecodeError`` (a ``ValueError``) for text that is
not a well-formed profile; the stores translate it into ``StoreCorrupt``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_DAY_BUCKETS = 400
"""Day buckets kept per trait when a profile is serialised (the most recent ones)."""

FORMAT_VERSION = 1


class ProfileDecodeError(ValueError):
    """The text is not a profile in the stored JSON form."""


@dataclass
class TraitRecord:
    """What a visitor did with one trait."""

    first_ts: int  # unix seconds of the first realization
    last_ts: int  # unix seconds of the last realization
    expires_ts: int | None  # None: never expires
    days: dict[int, int] = field(default_factory=dict)  # UTC day number -> realizations

    def to_dict(self) -> dict[str, Any]:
        kept = sorted(self.days)[-MAX_DAY_BUCKETS:]
        return {
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "expires_ts": self.expires_ts,
            "days": {str(day): self.days[day] for day in kept},
        }

    @classmethod
    def from_dict(cls, raw: object, where: str) -> TraitRecord:
        obj = _object(raw, where)
        expires = obj.get("expires_ts")
        return cls(
            first_ts=_int(obj.get("first_ts"), f"{where}.first_ts"),
            last_ts=_int(obj.get("last_ts"), f"{where}.last_ts"),
            expires_ts=None if expires is None else _int(expires, f"{where}.expires_ts"),
            days=_int_map(obj.get("days", {}), f"{where}.days", _int),
        )


@dataclass
class Profile:
    """Everything the store keeps about one visitor."""

    uuid: str
    created_ts: int
    updated_ts: int
    traits: dict[int, TraitRecord] = field(default_factory=dict)
    segments: dict[int, int] = field(default_factory=dict)  # segment sid -> qualified since
    partner_ids: dict[int, str] = field(default_factory=dict)  # dpid -> dpuuid
    attrs: dict[str, list[str]] = field(default_factory=dict)  # last c_/d_/h_ signals

    def to_json(self) -> str:
        """The stored form: compact JSON, integer keys as strings, days capped."""
        doc = {
            "v": FORMAT_VERSION,
            "uuid": self.uuid,
            "created_ts": self.created_ts,
            "updated_ts": self.updated_ts,
            "traits": {str(tid): rec.to_dict() for tid, rec in self.traits.items()},
            "segments": {str(sid): ts for sid, ts in self.segments.items()},
            "partner_ids": {str(dpid): dpuuid for dpid, dpuuid in self.partner_ids.items()},
            "attrs": self.attrs,
        }
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str | bytes) -> Profile:
        """Parse the stored form; raise ``ProfileDecodeError`` if it is not one."""
        try:
            raw = json.loads(s)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProfileDecodeError(f"profile is not valid JSON: {exc}") from None
        obj = _object(raw, "profile")
        if obj.get("v", FORMAT_VERSION) != FORMAT_VERSION:
            raise ProfileDecodeError(f"profile format version {obj.get('v')!r} is not supported")
        return cls(
            uuid=_str(obj.get("uuid"), "profile.uuid"),
            created_ts=_int(obj.get("created_ts"), "profile.created_ts"),
            updated_ts=_int(obj.get("updated_ts"), "profile.updated_ts"),
            traits=_int_map(obj.get("traits", {}), "profile.traits", TraitRecord.from_dict),
            segments=_int_map(obj.get("segments", {}), "profile.segments", _int),
            partner_ids=_int_map(obj.get("partner_ids", {}), "profile.partner_ids", _str),
            attrs=_attrs(obj.get("attrs", {}), "profile.attrs"),
        )


def _object(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ProfileDecodeError(f"{where} must be a JSON object, got {type(raw).__name__}")
    return raw


def _int(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ProfileDecodeError(f"{where} must be an integer, got {raw!r}")
    return raw


def _str(raw: object, where: str) -> str:
    if not isinstance(raw, str):
        raise ProfileDecodeError(f"{where} must be a string, got {raw!r}")
    return raw


def _int_map[V](raw: object, where: str, value: Callable[[object, str], V]) -> dict[int, V]:
    """Decode a JSON object with decimal integer keys, each value through ``value``."""
    out: dict[int, V] = {}
    for key, item in _object(raw, where).items():
        try:
            number = int(key)
        except ValueError:
            raise ProfileDecodeError(f"{where} key {key!r} is not an integer") from None
        out[number] = value(item, f"{where}[{key}]")
    return out


def _attrs(raw: object, where: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, values in _object(raw, where).items():
        if not isinstance(values, list):
            raise ProfileDecodeError(f"{where}[{key}] must be a list of strings")
        out[key] = [_str(v, f"{where}[{key}]") for v in values]
    return out
