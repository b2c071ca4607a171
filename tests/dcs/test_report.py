from __future__ import annotations

from edge.dcs.report import report
from edge.profiles import TraitRecord, open_store
from tests.dcs.helpers import NOW, OPENED, envelope, make_client, make_config


def test_report_counts_profiles_per_trait_and_segment() -> None:
    client, store = make_client()
    for n in range(3):
        uuid = str(10**37 + n)
        client.cookies.clear()
        headers = {"X-Edge-Enrichment": envelope(uuid, [("sports", 1)])} if n < 2 else {}
        client.get(f"/event?d_uuid={uuid}&c_likes=famous%20popstar", headers=headers)
    out = report(make_config(), store)
    assert out["profiles"] == 3
    traits = {row["sid"]: row["profiles"] for row in out["traits"]}
    assert traits[201] == 3 and traits[401] == 3 and traits[101] == 0
    assert out["onboarded"] == [{
        "dpid": 1001, "source": "acme data", "profiles": 2,
        "traits": [{"sid": 301, "name": "", "kind": "onboarded", "dpid": 1001, "profiles": 2}],
    }]
    segments = {row["sid"]: row["profiles"] for row in out["segments"]}
    assert segments[900] == 3 and segments[901] == 2 and segments[984263] == 0


def test_report_lists_unconfigured_traits_held_by_profiles() -> None:
    store = open_store("sqlite://:memory:")
    OPENED.append(store)

    def add(profile) -> None:  # type: ignore[no-untyped-def]
        profile.traits[77] = TraitRecord(int(NOW), int(NOW), None)
        profile.segments[88] = int(NOW)

    store.update("1" * 38, add, now=int(NOW))
    out = report(make_config(traits=[], segments=[], destinations=[]), store)
    assert out["traits"] == [{"sid": 77, "name": "", "kind": "rule", "dpid": None,
                              "profiles": 1}]
    assert out["segments"] == [{"sid": 88, "name": "", "rule": "", "profiles": 1}]
