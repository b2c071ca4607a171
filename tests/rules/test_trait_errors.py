import pytest

from edge.rules import RuleError, TraitDef, TraitEngine
from edge.rules.parser import parse


@pytest.mark.parametrize(
    ("rule", "position", "reason"),
    [
        ("", 0, "empty rule"),
        ("   ", 0, "empty rule"),
        ("c_a ==", 6, "expected a value after '=='"),
        ('c_a == "x" AND c_b ==', 21, "expected a value after '=='"),
        ("c_a == AND", 7, "expected a value after '=='"),
        ('c_a "x"', 4, "expected an operator after 'c_a', got a quoted string"),
        ('c_a is "x"', 4, "expected an operator after 'c_a', got 'is'"),
        ('== "x"', 0, "expected a condition, got '=='"),
        ('"x" == c_a', 0, "expected a condition, got a quoted string"),
        ('c_a == "x" AND', 14, "expected a condition, got end of rule"),
        ('c_a == "x" OR OR c_b == "y"', 14, "expected a condition, got 'OR'"),
        ('c_a == "x")', 10, "expected AND, OR or end of rule, got ')'"),
        ('c_a == "x" c_b == "y"', 11, "expected AND, OR or end of rule, got 'c_b'"),
        ('(c_a == "x"', 11, "expected ')' to close '(' at position 0, got end of rule"),
        ("()", 1, "expected a condition, got ')'"),
        ('c_a == "x', 7, "unterminated string"),
        ("c_a == 'x", 7, "unterminated string"),
        ('c_a ! "x"', 4, "expected '=' after '!'"),
        ('123 == "x"', 0, "invalid key '123'"),
        ('c_a$ == "x"', 0, "invalid key 'c_a$'"),
        ('c_a > "abc"', 6, "'>' needs a number, got 'abc'"),
        ('c_a matchesregex "("', 17, "invalid regular expression"),
        ('c_a matcheswords "  "', 17, "matcheswords needs at least one word"),
        ("(" * 65 + 'c_a == "x"' + ")" * 65, 64, "parentheses nested deeper than 64"),
    ],
)
def test_parse_errors_name_the_position(rule, position, reason):
    with pytest.raises(RuleError) as caught:
        TraitEngine([TraitDef(sid=12, rule=rule)])
    err = caught.value
    assert err.position == position
    assert err.reason.startswith(reason)
    assert str(err).startswith(f"trait 12: position {position}: {reason}")
    assert isinstance(err, ValueError)


def test_error_text_without_an_owner():
    with pytest.raises(RuleError) as caught:
        parse('c_page == "x" AND c_b ==')
    assert str(caught.value) == "position 24: expected a value after '=='"


@pytest.mark.parametrize(
    ("traits", "reason"),
    [
        ([TraitDef(1, 'c_a == "x"'), TraitDef(1, 'c_b == "y"')], "duplicate trait sid"),
        ([TraitDef(1, 'c_a == "x"', ttl_days=-1)], "ttl_days must be 0"),
        ([TraitDef(1, 'c_a == "x"', kind="onboarded", dpid=5)], "an onboarded trait's rule"),
        ([TraitDef(1, 'ic != "x"', kind="onboarded", dpid=5)], "an onboarded trait's rule"),
        ([TraitDef(1, 'ic == "x"', kind="onboarded")], "an onboarded trait needs a dpid"),
        (
            [
                TraitDef(1, 'ic == "x"', kind="onboarded", dpid=5),
                TraitDef(2, 'ic == "X"', kind="onboarded", dpid=5),
            ],
            "trait 1 has the same id",
        ),
        ([TraitDef(1, "", kind="folder")], "a folder trait needs a folder id"),
    ],
)
def test_bad_definitions_fail_at_load(traits, reason):
    with pytest.raises(RuleError, match=reason):
        TraitEngine(traits)
