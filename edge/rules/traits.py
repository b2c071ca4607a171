"""Trait definitions and the engine that realizes them from a hit's signals.

Three kinds of trait:

- ``rule``: a trait rule over the hit's signals (`edge.rules.parser`), realized in real time;
- ``onboarded``: rule ``ic == "<segment id>"`` of a data source; realized when that data source
  (an inbound file, or a provider answer in the enrichment envelope) names the segment id;
- ``folder``: realized whenever any non-folder trait filed under its folder id is realized
  (one level; a folder trait's own ``folder`` is the folder it stands for).

Every rule is parsed and compiled once, when the engine is built; a bad one raises
`RuleError` naming the trait (``"trait 12: position 3: ..."``). Keys match exactly (they are
wire keys, prefix included); values follow `edge.rules.predicates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from edge.rules.errors import RuleError
from edge.rules.parser import Compare, keys_of, parse
from edge.rules.predicates import Predicate, compile_node

ONBOARDED_KEY = "ic"


@dataclass(frozen=True)
class TraitDef:
    sid: int
    rule: str  # e.g. 'c_page == "home"'; for onboarded traits 'ic == "sports"'
    name: str = ""
    kind: Literal["rule", "onboarded", "folder"] = "rule"
    dpid: int | None = None  # the data source the trait belongs to
    ttl_days: int = 120  # 0 = never expires
    folder: int | None = None  # the folder a trait is filed under, or a folder trait's folder


@dataclass(frozen=True, slots=True)
class _Compiled:
    sid: int
    dpid: int | None
    predicate: Predicate


class TraitEngine:
    """All traits of a deployment, indexed for real-time evaluation."""

    def __init__(self, traits: Iterable[TraitDef], *, case_sensitive: bool = False) -> None:
        self._case_sensitive = case_sensitive
        self._traits: dict[int, TraitDef] = {}
        self._by_key: dict[str, list[_Compiled]] = {}
        self._onboarded: dict[tuple[int, str], int] = {}
        self._folder_of: dict[int, int] = {}  # filed trait sid -> folder id
        self._folder_traits: dict[int, list[int]] = {}  # folder id -> folder trait sids
        for trait in traits:
            try:
                self._add(trait)
            except RuleError as exc:
                raise exc.within(f"trait {trait.sid}") from None

    def _add(self, trait: TraitDef) -> None:
        if trait.sid in self._traits:
            raise RuleError(0, "duplicate trait sid")
        if trait.ttl_days < 0:
            raise RuleError(0, "ttl_days must be 0 (never expires) or more")
        if trait.kind == "rule":
            self._add_rule(trait)
        elif trait.kind == "onboarded":
            self._add_onboarded(trait)
        elif trait.folder is None:
            raise RuleError(0, "a folder trait needs a folder id")
        else:
            self._folder_traits.setdefault(trait.folder, []).append(trait.sid)
        if trait.kind != "folder" and trait.folder is not None:
            self._folder_of[trait.sid] = trait.folder
        self._traits[trait.sid] = trait

    def _add_rule(self, trait: TraitDef) -> None:
        node = parse(trait.rule)
        entry = _Compiled(
            trait.sid, trait.dpid, compile_node(node, case_sensitive=self._case_sensitive)
        )
        for key in keys_of(node):
            self._by_key.setdefault(key, []).append(entry)

    def _add_onboarded(self, trait: TraitDef) -> None:
        node = parse(trait.rule)
        if not (isinstance(node, Compare) and node.key == ONBOARDED_KEY and node.op == "=="):
            raise RuleError(0, f"an onboarded trait's rule must read {ONBOARDED_KEY} == \"<id>\"")
        if trait.dpid is None:
            raise RuleError(0, "an onboarded trait needs a dpid")
        slot = (trait.dpid, self._fold(node.value))
        if slot in self._onboarded:
            raise RuleError(node.value_pos, f"trait {self._onboarded[slot]} has the same id")
        self._onboarded[slot] = trait.sid

    def _fold(self, text: str) -> str:
        return text if self._case_sensitive else text.lower()

    def evaluate(
        self, signals: Mapping[str, Sequence[str]], *, dpids: frozenset[int] | None = None
    ) -> set[int]:
        """Sids of the rule-based traits these signals realize.

        Only traits of data sources `dpids` are considered when given (``d_tdpid``). Traits
        are indexed by the keys their rule reads and only those reading at least one key
        present in `signals` are evaluated, so the cost follows the hit's keys, not the
        number of traits. Consequently a rule reading no key of the hit is not evaluated,
        even one that would hold on absent keys (``NOT c_x == "1"``).
        """
        view: dict[str, Sequence[str]] = {}
        candidates: dict[int, _Compiled] = {}
        for key, values in signals.items():
            entries = self._by_key.get(key)
            if not entries or not values:
                continue
            view[key] = values if self._case_sensitive else [v.lower() for v in values]
            for entry in entries:
                if dpids is None or entry.dpid in dpids:
                    candidates[entry.sid] = entry
        return {sid for sid, entry in candidates.items() if entry.predicate(view)}

    def onboarded(self, dpid: int, segment_id: str) -> int | None:
        """The sid of data source `dpid`'s onboarded trait ``ic == "<segment_id>"``, if any."""
        return self._onboarded.get((dpid, self._fold(segment_id)))

    def folders_for(self, sids: Iterable[int]) -> set[int]:
        """The folder traits realized by realizing `sids`."""
        folders = {self._folder_of[sid] for sid in sids if sid in self._folder_of}
        return {f for folder in folders for f in self._folder_traits.get(folder, ())}

    def get(self, sid: int) -> TraitDef | None:
        return self._traits.get(sid)

    def keys(self) -> frozenset[str]:
        """Every signal key a rule-based trait reads (onboarded ``ic`` rules are not signals)."""
        return frozenset(self._by_key)

    def __len__(self) -> int:
        return len(self._traits)
