"""Real-time qualification of one hit against one profile; pure (mutates the given profile).

``qualify(engines, profile, hit)``:

1. drops the profile's expired traits (``expires_ts <= now``);
2. realizes rule-based traits from the hit's signals (restricted to ``hit.dpids`` when the
   hit names a data-source filter), the ``d_sid`` trait ids (same filter), and the
   onboarded traits the verified enrichment names: a provider segment with status 1
   realizes ``TraitEngine.onboarded(dpid, id)``, status 0 removes that trait;
3. adds the folder traits of what was realized;
4. records each realization (first/last time, TTL expiry, per-day counts; an onboarded
   trait counts at most one realization, as Audience Manager documents);
5. qualifies segments with the profile's history, the traits touched by this hit and the
   profile's previous segments, and stores them (a segment keeps its first qualification
   time).

The function is deterministic for a given profile, so a store may run it more than once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from edge.profiles import Profile, TraitRecord
from edge.rules.segments import SegmentEngine
from edge.rules.traits import TraitEngine
from edge.rules.ttl import day_number, expires_at


@dataclass(frozen=True)
class Engines:
    traits: TraitEngine
    segments: SegmentEngine


@dataclass(frozen=True)
class Onboarded:
    """One provider segment from the verified enrichment."""

    dpid: int
    id: str
    status: int = 1


@dataclass(frozen=True)
class Hit:
    now: int
    signals: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sids: Sequence[int] = ()
    onboarded: Sequence[Onboarded] = ()
    dpids: frozenset[int] | None = None  # data-source filter (d_tdpid / d_tdpid_ic)


@dataclass(frozen=True)
class Outcome:
    realized: frozenset[int]  # traits realized by this hit
    removed: frozenset[int]  # traits dropped (expired, or provider status 0)
    segments: frozenset[int]  # the profile's segments after this hit
    new_segments: frozenset[int]  # segments the profile entered with this hit


class ProfileHistory:
    """The `History` view of a profile at time `now`."""

    def __init__(self, profile: Profile, now: int) -> None:
        self._traits = profile.traits
        self._now = now

    def active(self, sid: int) -> bool:
        rec = self._traits.get(sid)
        return rec is not None and (rec.expires_ts is None or rec.expires_ts > self._now)

    def days(self, sid: int) -> Mapping[int, int]:
        rec = self._traits.get(sid)
        return rec.days if rec is not None else {}


def qualify(engines: Engines, profile: Profile, hit: Hit) -> Outcome:
    """Update `profile` with what `hit` realizes; see the module docstring."""
    removed = _drop_expired(profile, hit.now)
    realized = engines.traits.evaluate(hit.signals, dpids=hit.dpids)
    realized |= {sid for sid in hit.sids if _allowed(engines.traits, sid, hit.dpids)}
    for item in hit.onboarded:
        sid = engines.traits.onboarded(item.dpid, item.id)
        if sid is None:
            continue
        if item.status == 1:
            realized.add(sid)
        elif profile.traits.pop(sid, None) is not None:
            removed.add(sid)
    removed -= realized
    realized |= engines.traits.folders_for(realized)
    for sid in realized:
        _record(engines.traits, profile, sid, hit.now)
    previous = set(profile.segments)
    now_in = engines.segments.qualify(
        ProfileHistory(profile, hit.now), realized | removed, previous, day_number(hit.now)
    )
    profile.segments = {sid: profile.segments.get(sid, hit.now) for sid in sorted(now_in)}
    return Outcome(
        frozenset(realized), frozenset(removed), frozenset(now_in), frozenset(now_in - previous)
    )


def _allowed(traits: TraitEngine, sid: int, dpids: frozenset[int] | None) -> bool:
    trait = traits.get(sid)
    return trait is not None and (dpids is None or trait.dpid in dpids)


def _drop_expired(profile: Profile, now: int) -> set[int]:
    gone = {
        sid for sid, rec in profile.traits.items()
        if rec.expires_ts is not None and rec.expires_ts <= now
    }
    for sid in gone:
        del profile.traits[sid]
    return gone


def _record(traits: TraitEngine, profile: Profile, sid: int, now: int) -> None:
    trait = traits.get(sid)
    ttl = trait.ttl_days if trait is not None else 120
    once = trait is not None and trait.kind == "onboarded"
    rec = profile.traits.get(sid)
    if rec is None:
        rec = profile.traits[sid] = TraitRecord(now, now, None)
    rec.last_ts = now
    rec.expires_ts = expires_at(now, ttl)
    if once and rec.days:
        return
    day = day_number(now)
    rec.days[day] = rec.days.get(day, 0) + 1


def active_traits(profile: Profile, now: int) -> Iterable[int]:
    """The profile's traits that have not expired at `now`."""
    history = ProfileHistory(profile, now)
    return (sid for sid in profile.traits if history.active(sid))
