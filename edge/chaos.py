"""Chaos for testing: which misbehaviour to inject into a provider call or a request route.

A spec is one string, ``<scope>:<target>:<effect>[,<effect>...]``::

    provider:acme:latency=300,p=0.5     half of acme's calls take 300 ms longer
    provider:*:reset,p=0.1              one call in ten, any provider, has its connection cut
    route:/event:error=503,p=0.1        one /event hit in ten is answered 503 by the edge
    route:/event:garbage                every /event answer body is replaced by garbage

- scope: ``provider`` (target: a provider name, or ``*``) or ``route`` (target: a path
  prefix starting with ``/``, matched on whole segments, or ``*``).
- effects: ``latency=<ms>`` (added delay), and at most one fault: ``error=<status>``
  (100-599), ``reset`` (the connection is cut), ``garbage`` (a body that is not what was
  asked for); ``p=<0..1>`` is the probability the spec fires for one call (default 1).

``Chaos.decide(scope, target)`` rolls every matching spec independently: the latencies of the
specs that fire add up, and the first fault that fires wins. Pure apart from the injected
random source.

Errors: ``ChaosSpecError(ValueError)`` for a spec that does not parse.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Scope = Literal["provider", "route"]
FAULTS = ("error", "reset", "garbage")
GARBAGE = b"<html>\x00chaos: this is not the answer you asked for\xff"


class ChaosSpecError(ValueError):
    """A chaos spec that does not parse."""


@dataclass(frozen=True)
class Rule:
    scope: Scope
    target: str
    latency_ms: int = 0
    fault: str | None = None  # one of FAULTS
    status: int = 0  # for fault "error"
    p: float = 1.0
    spec: str = ""

    def matches(self, scope: str, target: str) -> bool:
        if scope != self.scope:
            return False
        if self.target == "*":
            return True
        if scope == "provider":
            return target == self.target
        path = target.split("?", 1)[0]
        prefix = self.target.rstrip("/") or "/"
        return path == prefix or prefix == "/" or path.startswith(prefix + "/")


@dataclass(frozen=True)
class Action:
    """What to do to one call: wait `latency_ms`, then the fault (if any)."""

    latency_ms: int = 0
    fault: str | None = None
    status: int = 0
    specs: tuple[str, ...] = ()


def parse(spec: str) -> Rule:
    """One spec string -> a Rule; ChaosSpecError with the reason otherwise."""
    parts = spec.strip().split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise ChaosSpecError(f"chaos spec {spec!r}: expected <scope>:<target>:<effects>")
    scope, target, effects = parts
    if scope not in ("provider", "route"):
        raise ChaosSpecError(f"chaos spec {spec!r}: scope must be provider or route")
    if scope == "route" and target != "*" and not target.startswith("/"):
        raise ChaosSpecError(f"chaos spec {spec!r}: a route target is a path starting with /")
    fields: dict[str, object] = {}
    for effect in effects.split(","):
        key, _, value = effect.strip().partition("=")
        fields.update(_effect(spec, key, value, fields))
    if "fault" not in fields and "latency_ms" not in fields:
        raise ChaosSpecError(f"chaos spec {spec!r}: no effect (latency, error, reset, garbage)")
    return Rule(scope=scope, target=target, spec=spec.strip(), **fields)  # type: ignore[arg-type]


def _effect(spec: str, key: str, value: str, seen: dict[str, object]) -> dict[str, object]:
    if key in FAULTS and "fault" in seen:
        raise ChaosSpecError(f"chaos spec {spec!r}: at most one of error, reset, garbage")
    if key == "latency":
        return {"latency_ms": _int(spec, key, value, 0, 600_000)}
    if key == "error":
        return {"fault": "error", "status": _int(spec, key, value, 100, 599)}
    if key in ("reset", "garbage"):
        if value:
            raise ChaosSpecError(f"chaos spec {spec!r}: {key} takes no value")
        return {"fault": key}
    if key == "p":
        try:
            p = float(value)
        except ValueError:
            p = -1.0
        if not 0.0 <= p <= 1.0:
            raise ChaosSpecError(f"chaos spec {spec!r}: p must be a number in [0, 1]")
        return {"p": p}
    raise ChaosSpecError(f"chaos spec {spec!r}: unknown effect {key!r}")


def _int(spec: str, key: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise ChaosSpecError(f"chaos spec {spec!r}: {key} must be an integer in [{low}, {high}]")
    return int(value)


class Chaos:
    """A set of rules and the random source that rolls them."""

    def __init__(self, rules: Iterable[Rule] = (), rng: random.Random | None = None) -> None:
        self.rules = tuple(rules)
        self._rng = rng or random.Random()

    @classmethod
    def from_specs(cls, specs: Iterable[str], seed: int | None = None) -> Chaos:
        return cls([parse(s) for s in specs if s.strip()], random.Random(seed))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def decide(self, scope: Scope, target: str) -> Action | None:
        """The action for one call to `target` (a provider name or a request path), or None."""
        latency, fault, status, fired = 0, None, 0, []
        for rule in self.rules:
            if not rule.matches(scope, target):
                continue
            if rule.p < 1.0 and self._rng.random() >= rule.p:
                continue
            fired.append(rule.spec)
            latency += rule.latency_ms
            if fault is None and rule.fault is not None:
                fault, status = rule.fault, rule.status
        if not fired:
            return None
        return Action(latency, fault, status, tuple(fired))
