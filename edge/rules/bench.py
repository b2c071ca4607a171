"""Benchmark: does per-hit cost follow the hit, or the size of the configuration?

A small configuration (10 traits on 10 keys, 5 segments) and a large one (the small one plus
9,990 traits on 1,990 more keys and 4,995 more segments over all 10,000 traits) see the same
stream of hits, side by side. Each hit carries 3-5 of the ten keys a site sends on every page
(the small configuration's keys) and belongs to one of 100 visitors whose history grows as
the stream goes on. A hit's time is trait evaluation, recording the realizations and segment
qualification. With an index, the large configuration costs about what the small one does;
without one it would cost a thousand times more.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.rules.history import MemoryHistory
from edge.rules.segments import SegmentDef, SegmentEngine
from edge.rules.traits import TraitDef, TraitEngine

HOT_KEYS = 10
VISITORS = 100
HITS_PER_DAY = 200
FIRST_DAY = 20_000

_TRAIT_RULES = (
    'c_k{k} == "v{m}"',
    'c_k{k} != "v{m}"',
    'c_k{k} contains "{m}"',
    "c_k{k} startswith v{m}",
    'c_k{k} matchesregex "^v[{m}-9]$"',
    'c_k{k} == "v{m}" OR c_k{j} matcheswords "v{m} x"',
)
_SEGMENT_RULES = (
    "{a}T OR {b}T",
    "{a}T AND {b}T",
    "({a}T OR {b}T) AND NOT {c}T",
    "FREQUENCY([{a}T, {b}T] <= 7D) >= 2",
    "frequency([{a}T]) >= 1 AND frequency([{a}T]) <= 5",
)


@dataclass
class _Config:
    traits: TraitEngine
    segments: SegmentEngine
    profiles: dict[int, tuple[MemoryHistory, set[int]]] = field(default_factory=dict)
    total_ns: int = 0
    realized: int = 0
    qualified: int = 0


def _traits(sids: range, keys: range, rng: random.Random) -> list[TraitDef]:
    out = []
    for n, sid in enumerate(sids):
        template = _TRAIT_RULES[(sid // len(keys)) % len(_TRAIT_RULES)]
        key = keys[n % len(keys)]
        rule = template.format(k=key, j=rng.choice(keys), m=rng.randrange(10))
        out.append(TraitDef(sid=sid, rule=rule, dpid=1))
    return out


def _segments(sids: range, traits: int, rng: random.Random) -> list[SegmentDef]:
    out = []
    for sid in sids:
        a, b, c = rng.sample(range(traits), 3)
        out.append(SegmentDef(sid, _SEGMENT_RULES[sid % len(_SEGMENT_RULES)].format(a=a, b=b, c=c)))
    return out


def build(seed: int) -> tuple[_Config, _Config]:
    """The small configuration and the large one that contains it."""
    rng = random.Random(seed)
    traits = _traits(range(10), range(HOT_KEYS), rng)
    segments = _segments(range(5), 10, rng)
    small = _Config(TraitEngine(traits), SegmentEngine(segments))
    traits += _traits(range(10, 10_000), range(HOT_KEYS, 2_000), rng)
    segments += _segments(range(5, 5_000), 10_000, rng)
    large = _Config(TraitEngine(traits), SegmentEngine(segments))
    return small, large


def hit_stream(count: int, seed: int) -> list[tuple[int, dict[str, list[str]]]]:
    """(visitor, signals) pairs: 3-5 hot keys per hit, occasionally two values."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        keys = rng.sample(range(HOT_KEYS), rng.randint(3, 5))
        signals = {f"c_k{k}": [f"v{rng.randrange(10)}"] for k in keys}
        if rng.random() < 0.2:
            signals[f"c_k{keys[0]}"].append(f"v{rng.randrange(10)}")
        out.append((rng.randrange(VISITORS), signals))
    return out


def _one(config: _Config, visitor: int, signals: dict[str, list[str]], today: int) -> None:
    history, previous = config.profiles.setdefault(visitor, (MemoryHistory(), set()))
    start = time.perf_counter_ns()
    realized = config.traits.evaluate(signals)
    for sid in realized:  # the DCS records realizations before qualifying
        history.realize(sid, today)
    qualified = config.segments.qualify(history, realized, previous, today)
    config.total_ns += time.perf_counter_ns() - start
    config.profiles[visitor] = (history, qualified)
    config.realized += len(realized)
    config.qualified += len(qualified)


def run(*, hits: int = 2000, seed: int = 1) -> dict[str, float]:
    """Per-hit mean microseconds on the small and the large configuration, and their ratio."""
    small, large = build(seed)
    stream = hit_stream(hits, seed)
    gc.collect()  # leave the garbage of building to neither configuration
    for i, (visitor, signals) in enumerate(stream):
        today = FIRST_DAY + i // HITS_PER_DAY
        pair = (small, large) if i % 2 else (large, small)  # alternate to share warm-up
        for config in pair:
            _one(config, visitor, signals, today)
    small_us = small.total_ns / hits / 1000
    large_us = large.total_ns / hits / 1000
    return {
        "hits": float(hits),
        "small_us": small_us,
        "large_us": large_us,
        "ratio": large_us / small_us if small_us else 0.0,
        "small_traits_per_hit": small.realized / hits,
        "large_traits_per_hit": large.realized / hits,
        "small_segments_per_hit": small.qualified / hits,
        "large_segments_per_hit": large.qualified / hits,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge bench rules", description=__doc__)
    parser.add_argument("--hits", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    result = run(hits=args.hits, seed=args.seed)
    print(f"{'config':<8}{'traits':>8}{'segments':>10}{'us/hit':>10}{'realized':>10}{'in segs':>9}")
    for name, traits, segs in (("small", 10, 5), ("large", 10_000, 5_000)):
        print(
            f"{name:<8}{traits:>8}{segs:>10}{result[f'{name}_us']:>10.1f}"
            f"{result[f'{name}_traits_per_hit']:>10.2f}{result[f'{name}_segments_per_hit']:>9.2f}"
        )
    print(f"ratio large/small: {result['ratio']:.2f} (goal < 3)")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
