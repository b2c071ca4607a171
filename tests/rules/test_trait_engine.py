import pytest

from edge.rules import TraitDef, TraitEngine
from edge.rules import traits as traits_module


def test_a_trait_whose_keys_are_absent_is_not_evaluated():
    # Evaluated, `NOT c_x == "1"` would hold on a hit without c_x; the index skips it.
    engine = TraitEngine([TraitDef(1, 'NOT c_x == "1"'), TraitDef(2, 'c_y == "2"')])
    assert engine.evaluate({"c_y": ["2"]}) == {2}
    assert engine.evaluate({"c_x": ["0"]}) == {1}


def test_a_trait_reading_several_keys_is_evaluated_when_any_is_present():
    engine = TraitEngine([TraitDef(1, 'c_y == "2" OR NOT c_x == "1"')])
    assert engine.evaluate({"c_y": ["3"]}) == {1}
    assert engine.evaluate({"c_z": ["3"]}) == set()


def test_only_traits_of_present_keys_run(monkeypatch):
    evaluated: list[int] = []
    real = traits_module.compile_node

    def spying(node, *, case_sensitive):
        predicate = real(node, case_sensitive=case_sensitive)
        sid = int(node.key.removeprefix("c_k"))  # rules below read one key c_k<sid>

        def spy(signals):
            evaluated.append(sid)
            return predicate(signals)

        return spy

    monkeypatch.setattr(traits_module, "compile_node", spying)
    engine = TraitEngine(TraitDef(i, f'c_k{i} == "v"') for i in range(1000))
    assert engine.evaluate({"c_k7": ["v"], "c_k9": ["w"], "c_other": ["v"]}) == {7}
    assert sorted(evaluated) == [7, 9]


def test_a_trait_reading_a_key_twice_is_evaluated_once(monkeypatch):
    count = 0
    real = traits_module.compile_node

    def spying(node, *, case_sensitive):
        predicate = real(node, case_sensitive=case_sensitive)

        def spy(signals):
            nonlocal count
            count += 1
            return predicate(signals)

        return spy

    monkeypatch.setattr(traits_module, "compile_node", spying)
    engine = TraitEngine([TraitDef(1, 'c_a == "1" OR c_b == "1" OR c_a == "2"')])
    assert engine.evaluate({"c_a": ["2"], "c_b": ["0"]}) == {1}
    assert count == 1


@pytest.mark.parametrize(
    ("dpids", "expected"),
    [
        (None, {1, 2, 3}),
        (frozenset({10}), {1}),
        (frozenset({10, 20}), {1, 2}),
        (frozenset(), set()),
    ],
)
def test_dpids_restrict_the_data_sources(dpids, expected):
    engine = TraitEngine(
        [
            TraitDef(1, 'c_a == "x"', dpid=10),
            TraitDef(2, 'c_a == "x"', dpid=20),
            TraitDef(3, 'c_a == "x"'),
        ]
    )
    assert engine.evaluate({"c_a": ["x"]}, dpids=dpids) == expected


def onboarded_engine(case_sensitive: bool = False) -> TraitEngine:
    return TraitEngine(
        [
            TraitDef(1, 'ic == "sports"', kind="onboarded", dpid=10),
            TraitDef(2, 'ic == "sports"', kind="onboarded", dpid=20),
            TraitDef(3, "ic=='Auto-Intender'", kind="onboarded", dpid=10),
            TraitDef(4, 'c_a == "x"', dpid=10),
        ],
        case_sensitive=case_sensitive,
    )


@pytest.mark.parametrize(
    ("dpid", "segment_id", "expected"),
    [
        (10, "sports", 1),
        (20, "sports", 2),
        (30, "sports", None),
        (10, "SPORTS", 1),
        (10, "sport", None),
        (10, "sports ", None),
        (10, "auto-intender", 3),
        (20, "Auto-Intender", None),
    ],
)
def test_onboarded_lookup(dpid, segment_id, expected):
    assert onboarded_engine().onboarded(dpid, segment_id) == expected


def test_onboarded_lookup_case_sensitive():
    engine = onboarded_engine(case_sensitive=True)
    assert engine.onboarded(10, "Auto-Intender") == 3
    assert engine.onboarded(10, "auto-intender") is None


def test_onboarded_traits_are_not_realized_by_signals():
    engine = onboarded_engine()
    assert engine.evaluate({"ic": ["sports"], "c_a": ["x"]}) == {4}
    assert engine.keys() == frozenset({"c_a"})


def folder_engine() -> TraitEngine:
    return TraitEngine(
        [
            TraitDef(100, "", kind="folder", folder=7),
            TraitDef(101, "", kind="folder", folder=7),
            TraitDef(200, "", kind="folder", folder=8),
            TraitDef(1, 'c_a == "x"', folder=7),
            TraitDef(2, 'ic == "s"', kind="onboarded", dpid=3, folder=7),
            TraitDef(3, 'c_b == "y"', folder=8),
            TraitDef(4, 'c_c == "z"'),
            TraitDef(5, 'c_d == "w"', folder=9),  # a folder without a folder trait
        ]
    )


@pytest.mark.parametrize(
    ("sids", "expected"),
    [
        ({1}, {100, 101}),
        ({2}, {100, 101}),
        ({3}, {200}),
        ({1, 3}, {100, 101, 200}),
        ({4}, set()),
        ({5}, set()),
        ({100}, set()),  # a folder trait does not realize itself
        (set(), set()),
    ],
)
def test_folder_traits(sids, expected):
    assert folder_engine().folders_for(sids) == expected


def test_get_keys_and_len():
    engine = folder_engine()
    assert engine.get(3) == TraitDef(3, 'c_b == "y"', folder=8)
    assert engine.get(999) is None
    assert engine.keys() == frozenset({"c_a", "c_b", "c_c", "c_d"})
    assert len(engine) == 8
