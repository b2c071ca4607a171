import pytest

from edge.rules import MemoryHistory, RuleError, SegmentDef, SegmentEngine

TODAY = 20_000


def qualifies(rule: str, history: MemoryHistory, today: int = TODAY) -> bool:
    engine = SegmentEngine([SegmentDef(1, rule)])
    return engine.evaluate(1, history, today)


def active(*sids: int) -> MemoryHistory:
    return MemoryHistory({sid: {TODAY: 1} for sid in sids})


@pytest.mark.parametrize(
    ("rule", "traits", "expected"),
    [
        ("123T", {123}, True),
        ("123T", {456}, False),
        ("123T OR 456T", {456}, True),
        ("123T AND 456T", {456}, False),
        ("123T AND 456T", {123, 456}, True),
        ("(123T AND 456T) OR 789T", {789}, True),
        ("123T AND 456T OR 789T", {789}, True),  # AND binds tighter than OR
        ("123T AND (456T OR 789T)", {789}, False),
        ("123T OR 456T AND 789T", {123}, True),
        ("123T AND NOT 456T", {123}, True),
        ("123T AND NOT 456T", {123, 456}, False),
        ("123T NOT 456T", {123, 456}, False),  # NOT implies AND
        ("NOT 456T AND 123T", {123}, True),
        ("2T AND NOT 456T OR 123T", {123, 456}, True),  # NOT binds tighter than OR
        ("123T AND NOT (456T OR 789T)", {123, 789}, False),
        ("123t or 456t", {456}, True),
    ],
)
def test_boolean_rules_and_precedence(rule, traits, expected):
    assert qualifies(rule, active(*traits)) is expected


def test_expired_traits_do_not_count():
    history = active(1, 2)
    history.expire(1)
    assert not qualifies("1T", history)
    assert not qualifies("frequency([1T]) >= 1", history)
    assert qualifies("frequency([1T, 2T]) >= 1", history)
    history.realize(1, TODAY)
    assert qualifies("1T", history)


def history_of(**per_day: int) -> MemoryHistory:
    """Trait 1 realized n times on day TODAY - k, written d<k>=n."""
    return MemoryHistory({1: {TODAY - int(k[1:]): n for k, n in per_day.items()}})


@pytest.mark.parametrize(
    ("rule", "history", "expected"),
    [
        ("frequency([1T]) >= 3", history_of(d0=1, d10=2), True),
        ("frequency([1T]) >= 4", history_of(d0=1, d10=2), False),
        ("FREQUENCY([1T]) == 3", history_of(d0=1, d10=2), True),
        ("frequency([1T]) <= 3 AND 1T", history_of(d0=1, d10=2), True),
        ("frequency([1T]) <= 2 AND 1T", history_of(d0=1, d10=2), False),
        # <= ND: today and the N-1 days before it
        ("frequency([1T] <= 2D) >= 5", history_of(d0=3, d1=2), True),
        ("frequency([1T] <= 2D) >= 5", history_of(d0=3, d2=2), False),
        ("frequency([1T] <= 1D) >= 1", history_of(d0=1), True),
        ("frequency([1T] <= 1D) >= 1", history_of(d1=1), False),
        ("(frequency([1T] <= 2D) >= 5)", history_of(d0=5), True),
        # >= ND: days at least N days ago
        ("frequency([1T] >= 5D) >= 2", history_of(d5=1, d9=1), True),
        ("frequency([1T] >= 5D) >= 2", history_of(d4=1, d9=1), False),
        ("frequency([1T] >= 5D) >= 1", history_of(d0=9), False),
        ("frequency([1T] => 5D) >= 1", history_of(d5=1), True),
    ],
)
def test_frequency_and_recency_windows(rule, history, expected):
    assert qualifies(rule, history) is expected


def test_recency_moves_with_today():
    history = history_of(d0=2)
    rule = "frequency([1T] <= 3D) >= 2"
    assert qualifies(rule, history, TODAY + 2)
    assert not qualifies(rule, history, TODAY + 3)
    assert not qualifies("frequency([1T] >= 3D) >= 2", history, TODAY + 2)
    assert qualifies("frequency([1T] >= 3D) >= 2", history, TODAY + 3)


def test_frequency_sums_the_listed_traits():
    history = MemoryHistory({1: {TODAY: 2}, 2: {TODAY - 1: 3}, 3: {TODAY: 10}})
    assert qualifies("frequency([1T, 2T]) == 5", history)
    assert qualifies("frequency([1T, 2T] <= 1D) == 2", history)
    assert qualifies("frequency([1T,2T,3T]) >= 15", history)


@pytest.mark.parametrize(
    "rule",
    [
        "frequency([1000T]) <= 5",
        "NOT 5T",
        "FREQUENCY([1000T] <= 3D) == 0",
        "1T OR NOT 2T",
        "frequency([1T]) >= 0",
        "NOT (1T AND 2T)",
    ],
)
def test_rules_including_profiles_without_the_traits_are_rejected(rule):
    with pytest.raises(RuleError, match="never realized") as caught:
        SegmentEngine([SegmentDef(9, rule)])
    assert str(caught.value).startswith("segment 9: position 0: ")


@pytest.mark.parametrize(
    "rule",
    [
        "frequency([1000T]) >= 1 AND frequency([1000T]) <= 5",
        "1T AND NOT 2T",
        "frequency([1T] >= 2D) >= 1",
    ],
)
def test_rules_needing_a_realization_are_accepted(rule):
    assert len(SegmentEngine([SegmentDef(9, rule)])) == 1


@pytest.mark.parametrize(
    ("rule", "position", "reason"),
    [
        ("", 0, "empty rule"),
        ("123", 0, "expected a trait id, FREQUENCY or '(', got '123'"),
        ("1T AND", 6, "expected a trait id, FREQUENCY or '(', got end of rule"),
        ("1T 2T", 3, "expected AND, OR or end of rule, got '2T'"),
        ("(1T OR 2T", 9, "expected ')' to close '(' at position 0, got end of rule"),
        ("1T & 2T", 3, "unexpected character '&'"),
        ("1T AND isSiteVisitorTrait", 7, "unknown word 'isSiteVisitorTrait'"),
        ("frequency 1T", 10, "expected '(' after FREQUENCY, got '1T'"),
        ("frequency(1T) >= 1", 10, "expected '[' before the trait list, got '1T'"),
        ("frequency([]) >= 1", 11, "expected a trait id such as 123T, got ']'"),
        ("frequency([1T 2T]) >= 1", 14, "expected ',' or ']' in the trait list, got '2T'"),
        ("frequency([1T] <= 0D) >= 1", 18, "recency must be greater than 0 days"),
        ("frequency([1T] == 2D) >= 1", 15, "expected a recency operator (>= or <=), got '=='"),
        ("frequency([1T] <= 2) >= 1", 18, "expected a number of days such as 5D, got '2'"),
        ("frequency([1T] <= 2D >= 1", 21, "expected ')' or a recency such as <= 5D, got '>='"),
        ("frequency([1T]) > 1", 16, "unexpected character '>'"),
        ("frequency([1T])", 15, "expected a frequency operator (>=, <= or ==), got end of rule"),
        ("frequency([1T]) >= 1D", 19, "expected a count after the frequency operator, got '1D'"),
        ("(" * 65 + "1T" + ")" * 65, 64, "parentheses nested deeper than 64"),
    ],
)
def test_parse_errors_name_the_position(rule, position, reason):
    with pytest.raises(RuleError) as caught:
        SegmentEngine([SegmentDef(3, rule)])
    assert caught.value.position == position
    assert caught.value.reason.startswith(reason)
    assert str(caught.value).startswith(f"segment 3: position {position}: {reason}")


def test_duplicate_segment_sid_is_rejected():
    with pytest.raises(RuleError, match="duplicate segment sid"):
        SegmentEngine([SegmentDef(1, "1T"), SegmentDef(1, "2T")])


def test_a_rule_of_five_thousand_traits_loads():
    rule = " OR ".join(f"{sid}T" for sid in range(5000))
    engine = SegmentEngine([SegmentDef(1, rule)])
    assert len(engine.trait_ids()) == 5000
    assert engine.evaluate(1, active(4999), TODAY)


class SpyHistory(MemoryHistory):
    """Counts the trait lookups, so a test can see which segments were evaluated."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[int] = []

    def active(self, sid: int) -> bool:
        self.asked.append(sid)
        return super().active(sid)


def big_engine() -> SegmentEngine:
    # Segment n reads only trait n + 1000, so which traits were asked tells which segments ran.
    return SegmentEngine(SegmentDef(n, f"{n + 1000}T") for n in range(2000))


def test_using_indexes_segments_by_trait():
    engine = SegmentEngine(
        [
            SegmentDef(1, "10T OR 11T"),
            SegmentDef(2, "frequency([11T, 12T]) >= 2"),
            SegmentDef(3, "13T"),
        ]
    )
    assert engine.using([11]) == {1, 2}
    assert engine.using([12, 13]) == {2, 3}
    assert engine.using([99]) == set()
    assert engine.trait_ids() == frozenset({10, 11, 12, 13})


def test_qualify_evaluates_only_touched_and_previous_segments():
    engine = big_engine()
    history = SpyHistory({1005: {TODAY: 1}, 1007: {TODAY: 1}})
    history.expire(1007)
    result = engine.qualify(history, touched=[1005], previous=[7, 9, 424242], today=TODAY)
    assert result == {5}  # 7 dropped out (expired), 9 was never realized
    assert sorted(history.asked) == [1005, 1007, 1009]


def test_qualify_with_nothing_touched_evaluates_nothing():
    history = SpyHistory({1005: {TODAY: 1}})
    assert big_engine().qualify(history, touched=[], previous=[], today=TODAY) == set()
    assert history.asked == []


def test_get_and_len():
    engine = SegmentEngine([SegmentDef(4, "1T", name="fans")])
    assert engine.get(4) == SegmentDef(4, "1T", name="fans")
    assert engine.get(5) is None
    assert len(engine) == 1
