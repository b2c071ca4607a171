import pytest

from edge.rules import TraitDef, TraitEngine


def holds(rule: str, signals: dict[str, list[str]], *, case_sensitive: bool = False) -> bool:
    engine = TraitEngine([TraitDef(sid=1, rule=rule)], case_sensitive=case_sensitive)
    return engine.evaluate(signals) == {1}


@pytest.mark.parametrize(
    ("rule", "signals", "expected"),
    [
        ('c_a == "x"', {"c_a": ["x"]}, True),
        ('c_a == "x"', {"c_a": ["y"]}, False),
        ('c_a != "x"', {"c_a": ["y"]}, True),
        ('c_a != "x"', {"c_a": ["x"]}, False),
        ("c_a < 5", {"c_a": ["4"]}, True),
        ("c_a < 5", {"c_a": ["5"]}, False),
        ("c_a > 5", {"c_a": ["6"]}, True),
        ("c_a > 5", {"c_a": ["5"]}, False),
        ("c_a <= 5", {"c_a": ["5"]}, True),
        ("c_a <= 5", {"c_a": ["5.1"]}, False),
        ("c_a >= 5", {"c_a": ["5"]}, True),
        ("c_a >= 5", {"c_a": ["4.99"]}, False),
        ("c_a => 5", {"c_a": ["5"]}, True),
        ("c_a => 5", {"c_a": ["4"]}, False),
        ('c_a contains "ort"', {"c_a": ["sports"]}, True),
        ('c_a contains "ort"', {"c_a": ["news"]}, False),
        ('c_a startswith "sp"', {"c_a": ["sports"]}, True),
        ('c_a startswith "sp"', {"c_a": ["esports"]}, False),
        ('c_a endswith "rts"', {"c_a": ["sports"]}, True),
        ('c_a endswith "rts"', {"c_a": ["sportsman"]}, False),
        ('c_a matchesregex "^s.*s$"', {"c_a": ["sports"]}, True),
        ('c_a matchesregex "^s.*s$"', {"c_a": ["sport"]}, False),
        ('c_a matcheswords "golf tennis"', {"c_a": ["i like tennis a lot"]}, True),
        ('c_a matcheswords "golf tennis"', {"c_a": ["tennisball golfer"]}, False),
    ],
)
def test_each_operator(rule, signals, expected):
    assert holds(rule, signals) is expected


@pytest.mark.parametrize(
    "rule",
    [
        'c_a CONTAINS "x"',
        'c_a Contains "x"',
        'c_a StartsWith "x"',
        'c_a MATCHESREGEX "x"',
        'c_a Matcheswords "x"',
    ],
)
def test_named_operators_are_case_insensitive(rule):
    assert holds(rule, {"c_a": ["x"]})


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        ({"a": ["1"], "b": ["0"], "c": ["0"]}, True),
        ({"a": ["0"], "b": ["1"], "c": ["2"]}, True),
        ({"a": ["0"], "b": ["1"], "c": ["0"]}, False),  # OR binds looser than AND
        ({"a": ["0"], "b": ["0"], "c": ["2"]}, False),
    ],
)
def test_and_binds_tighter_than_or(signals, expected):
    assert holds('a == "1" OR b == "1" AND c == "2"', signals) is expected


@pytest.mark.parametrize(
    ("rule", "signals", "expected"),
    [
        ('NOT a == "1"', {"a": ["2"]}, True),
        ('NOT a == "1"', {"a": ["1"]}, False),
        ('not a == "1" and b == "2"', {"a": ["1"], "b": ["2"]}, False),  # NOT before AND
        ('NOT a == "1" OR b == "2"', {"a": ["1"], "b": ["2"]}, True),
        ('NOT (a == "1" OR b == "2")', {"a": ["1"], "b": ["3"]}, False),
        ('b == "2" AND NOT a == "1"', {"a": ["1"], "b": ["2"]}, False),
        ('b == "2" AND NOT a == "1"', {"a": ["0"], "b": ["2"]}, True),
        ('b == "2" NOT a == "1"', {"a": ["0"], "b": ["2"]}, True),  # implied AND
        ('b == "2" NOT a == "1"', {"a": ["1"], "b": ["2"]}, False),
        ('NOT NOT a == "1"', {"a": ["1"]}, True),
        ('b == "2" AND NOT a == "1"', {"b": ["2"]}, True),  # absent key: comparison false
        ('a == "1" Or b == "2"', {"b": ["2"]}, True),
    ],
)
def test_not_and_keyword_case(rule, signals, expected):
    assert holds(rule, signals) is expected


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("price == 1", "1.00", True),  # both numbers: compared as numbers
        ('price == "1.0"', "1", True),
        ("price == 1", "1x", False),
        ("price >= 1.00", "10", True),  # 10 >= 1 numerically, though "10" < "1.00" as text
        ("price < 9", "10", False),  # numerically, though "10" < "9" as text
        ("price > 1", "abc", False),  # not a number: ordering is false
        ("price > -1", "-0.5", True),
        ("price <= .5", "0.5", True),
        ('code == "007"', "7", True),
        ('code == "abc"', "ABC", True),
    ],
)
def test_numbers_versus_strings(rule, value, expected):
    key = rule.split()[0]
    assert holds(rule, {key: [value]}) is expected


@pytest.mark.parametrize(
    ("rule", "value", "insensitive", "sensitive"),
    [
        ('c_a == "Home"', "HOME", True, False),
        ('c_a == "Home"', "Home", True, True),
        ('c_a != "Home"', "home", False, True),
        ('c_a contains "OME"', "home", True, False),
        ('c_a startswith "HO"', "home", True, False),
        ('c_a endswith "ME"', "home", True, False),
        ('c_a matchesregex "^HO"', "home", True, False),
        ('c_a matchesregex "^[a-z]+$"', "HOME", True, False),
        ('c_a matcheswords "HOME"', "go home", True, False),
    ],
)
def test_case_sensitivity(rule, value, insensitive, sensitive):
    assert holds(rule, {"c_a": [value]}) is insensitive
    assert holds(rule, {"c_a": [value]}, case_sensitive=True) is sensitive


@pytest.mark.parametrize(
    ("rule", "values", "expected"),
    [
        ('c_a == "b"', ["a", "b"], True),
        ('c_a == "c"', ["a", "b"], False),
        ('c_a != "b"', ["a", "b"], False),  # some value equals
        ('c_a != "c"', ["a", "b"], True),  # present and none equals
        ('c_a != "c"', [], False),  # present but empty counts as absent
        ("c_a > 5", ["1", "9"], True),
        ('c_a contains "x"', ["ab", "axb"], True),
        ('c_a == "a" AND c_a == "b"', ["a", "b"], True),
    ],
)
def test_multi_valued_keys(rule, values, expected):
    assert holds(rule, {"c_a": values}) is expected


def test_not_equal_needs_the_key():
    engine = TraitEngine([TraitDef(1, 'c_a != "x"'), TraitDef(2, 'c_b == "y"')])
    assert engine.evaluate({"c_b": ["y"]}) == {2}


@pytest.mark.parametrize(
    ("rule", "signals", "expected"),
    [
        ('(c_make=="A") AND (c_model=="B") AND (c_search=="1")',
         {"c_make": ["A"], "c_model": ["B"], "c_search": ["1"]}, True),
        ('(c_make=="A") AND (c_model=="B") AND (c_search=="1")',
         {"c_make": ["A"], "c_model": ["B"], "c_search": ["2"]}, False),
        ('(a== "1" OR b=="1") AND (c=="new")', {"b": ["1"], "c": ["new"]}, True),
        ('(a== "1" OR b=="1") AND (c=="new")', {"a": ["1"], "c": ["old"]}, False),
        ("(price >= 1.00 AND price <= 100.00)", {"price": ["50"]}, True),
        ("(price >= 1.00 AND price <= 100.00)", {"price": ["100.01"]}, False),
        ("(price >= 1.00 AND price <= 100.00)", {"price": ["0.99"]}, False),
        ('color == "blue"', {"color": ["blue"]}, True),
        ('ic == "123"', {"ic": ["123"]}, True),
        ("product==4711", {"product": ["4711"]}, True),
        ("d_country=CW OR d_country=SX OR d_country=BQ", {"d_country": ["SX"]}, True),
        ("d_country=CW OR d_country=SX OR d_country=BQ", {"d_country": ["NL"]}, False),
    ],
)
def test_verbatim_samples_of_the_reference(rule, signals, expected):
    assert holds(rule, signals) is expected


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (r'c_a matchesregex "^\d{3}$"', "123", True),  # a backslash stays for the regex
        (r'c_a matchesregex "^\d{3}$"', "1234", False),
        ('c_a matchesregex "port"', "sports", True),  # search, not match
        (r'c_a == "say \"hi\""', 'say "hi"', True),
        ("c_a == 'single quoted'", "single quoted", True),
        ('c_a == "it\'s"', "it's", True),
        ("c_a == 'a \"b\"'", 'a "b"', True),
        ("c_a == bare-word.x", "bare-word.x", True),
        ("c_a==\"\"", "", True),  # ?c_a= sends an empty value
    ],
)
def test_values_and_escapes(rule, value, expected):
    assert holds(rule, {"c_a": [value]}) is expected


@pytest.mark.parametrize(
    "key", ["c_page", "d_country", "h_referer", "p_type", "ic", "videoTypeID", "a.b-c", "1x"]
)
def test_keys_match_the_wire_key_exactly(key):
    engine = TraitEngine([TraitDef(1, f'{key} == "v"')])
    assert engine.evaluate({key: ["v"]}) == {1}
    assert engine.evaluate({key.upper() + "_": ["v"]}) == set()
    assert key in engine.keys()
