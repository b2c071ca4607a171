from __future__ import annotations

import pytest

from edge.dcs.errors import BAD_ENCODING, ParamError
from edge.dcs.wire import decode, pairs, values


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"plain", "plain"),
        (b"famous%20popstar", "famous popstar"),
        (b"a+b", "a b"),
        (b"%25esid!", "%esid!"),
        (b"%C3%A9t%C3%A9", "\u00e9t\u00e9"),
        (b"123%01987", "123\x01987"),
        (b"%2B", "+"),
        (b"", ""),
    ],
)
def test_decode(raw: bytes, expected: str) -> None:
    assert decode(raw) == expected


@pytest.mark.parametrize(
    "raw", [b"%esid!", b"%", b"%2", b"abc%G1", b"%zz", b"%C3", b"\xff", b"x%"]
)
def test_decode_rejects_bad_encoding_with_311(raw: bytes) -> None:
    with pytest.raises(ParamError) as info:
        decode(raw)
    assert info.value.error.code == BAD_ENCODING


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a=1&b=2", [("a", "1"), ("b", "2")]),
        ("a=1&a=2", [("a", "1"), ("a", "2")]),
        ("flag&&a=", [("flag", ""), ("a", "")]),
        ("k=a=b", [("k", "a=b")]),
        ("", []),
        (b"c_x=%22q%22", [("c_x", '"q"')]),
    ],
)
def test_pairs(raw: str | bytes, expected: list[tuple[str, str]]) -> None:
    assert pairs(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("val1", ["val1"]),
        ("val1,val2,val3", ["val1", "val2", "val3"]),
        ('"41 to 55"', ["41 to 55"]),
        ('"a,b",c', ["a,b", "c"]),
        ("a,,b", ["a", "b"]),
        ("", []),
        ('"unterminated,x', ['"unterminated,x']),
        ('""', []),
    ],
)
def test_values(text: str, expected: list[str]) -> None:
    assert values(text) == expected
