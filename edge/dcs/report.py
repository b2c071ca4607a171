"""How many profiles hold each trait and segment: the data for building new segments.

``report(config, store)`` returns::

    {"profiles": 120,
     "traits": [{"sid": 1, "name": "...", "kind": "rule", "dpid": null, "profiles": 40}],
     "onboarded": [{"dpid": 1001, "source": "acme", "traits": [{"sid": 7, ...}],
                    "profiles": 55}],
     "segments": [{"sid": 10, "name": "...", "rule": "1T OR 7T", "profiles": 30}]}

``traits`` lists the rule and folder traits, ``onboarded`` the onboarded traits grouped by
the provider data source they come from (named after the data source or provider;
``profiles`` there is the sum over the source's traits). Traits and segments held by
profiles but no longer configured are listed with an empty name. The count is a scan of
the store (``ProfileStore.stats``): an admin operation. Errors: the store's ``StoreError``.
"""

from __future__ import annotations

from typing import Any

from edge.config import Config
from edge.profiles import ProfileStore
from edge.rules.traits import TraitDef


def _source_name(config: Config, dpid: int | None) -> str:
    for source in config.data_sources:
        if source.dpid == dpid and source.name:
            return source.name
    provider = next((p for p in config.providers if p.dpid == dpid), None)
    return provider.name if provider else ""


def _trait_row(trait: TraitDef, count: int) -> dict[str, Any]:
    return {"sid": trait.sid, "name": trait.name, "kind": trait.kind, "dpid": trait.dpid,
            "profiles": count}


def report(config: Config, store: ProfileStore) -> dict[str, Any]:
    """Profile counts per trait and segment (see the module docstring)."""
    stats = store.stats()
    defs = {t.sid: t for t in config.traits}
    for sid in stats.traits.keys() - defs.keys():
        defs[sid] = TraitDef(sid=sid, rule="")
    traits: list[dict[str, Any]] = []
    sources: dict[int | None, list[dict[str, Any]]] = {}
    for sid in sorted(defs):
        row = _trait_row(defs[sid], stats.traits.get(sid, 0))
        if defs[sid].kind == "onboarded":
            sources.setdefault(defs[sid].dpid, []).append(row)
        else:
            traits.append(row)
    onboarded = [
        {"dpid": dpid, "source": _source_name(config, dpid), "traits": rows,
         "profiles": sum(r["profiles"] for r in rows)}
        for dpid, rows in sorted(sources.items(), key=lambda item: item[0] or 0)
    ]
    segs = {s.sid: s for s in config.segments}
    segments = [
        {"sid": sid, "name": segs[sid].name if sid in segs else "",
         "rule": segs[sid].rule if sid in segs else "", "profiles": stats.segments.get(sid, 0)}
        for sid in sorted(segs.keys() | stats.segments.keys())
    ]
    return {"profiles": stats.profiles, "traits": traits, "onboarded": onboarded,
            "segments": segments}


def _table(doc: dict[str, Any]) -> str:
    lines = [f"{doc['profiles']} profiles", "", "traits:"]
    lines += [f"  {t['sid']:>7}  {t['profiles']:>8}  {t['name']}" for t in doc["traits"]]
    for source in doc["onboarded"]:
        lines.append(f"onboarded from {source['source'] or source['dpid']} "
                     f"(dpid {source['dpid']}):")
        lines += [f"  {t['sid']:>7}  {t['profiles']:>8}  {t['name']}" for t in source["traits"]]
    lines.append("segments:")
    lines += [f"  {s['sid']:>7}  {s['profiles']:>8}  {s['name']}" for s in doc["segments"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`edge report --config FILE [--json]`."""
    import argparse
    import json
    import sys

    from edge import config as edge_config
    from edge.profiles import StoreError, open_store

    ap = argparse.ArgumentParser(prog="edge report", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    try:
        cfg = edge_config.load(args.config)
        store = open_store(cfg.dcs.store)
        try:
            doc = report(cfg, store)
        finally:
            store.close()
    except (ValueError, StoreError) as e:
        print(f"edge report: {e}", file=sys.stderr)
        return 1
    print(json.dumps(doc, indent=2) if args.json else _table(doc))
    return 0
