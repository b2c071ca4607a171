"""The edge's lenient reading of a hit: visitor id, signals, consent."""

from __future__ import annotations

import pytest

from edge.visitor import HitInfo, read_hit, wants_json

UUID = "12345678901234567890123456789012345678"
COOKIE_UUID = "98765432109876543210987654321098765432"


def hit(pairs: list[tuple[str, str]], cookies: dict[str, str] | None = None) -> HitInfo:
    return read_hit(pairs, cookies or {}, cookie_name="demdex")


@pytest.mark.parametrize(
    ("pairs", "cookies", "uuid", "source"),
    [
        pytest.param([("d_uuid", UUID)], {}, UUID, "d_uuid", id="query"),
        pytest.param([], {"demdex": COOKIE_UUID}, COOKIE_UUID, "cookie", id="cookie"),
        pytest.param([("d_uuid", UUID)], {"demdex": COOKIE_UUID}, UUID, "d_uuid",
                     id="query-beats-cookie"),
        pytest.param([("d_uuid", "123")], {"demdex": COOKIE_UUID}, COOKIE_UUID, "cookie",
                     id="bad-query-falls-back"),
        pytest.param([("d_uuid", UUID), ("d_uuid", COOKIE_UUID)], {}, UUID, "d_uuid",
                     id="first-wins"),
        pytest.param([], {"demdex": "not-a-uuid"}, None, "none", id="bad-cookie"),
        pytest.param([], {"other": COOKIE_UUID}, None, "none", id="other-cookie"),
        pytest.param([], {}, None, "none", id="nothing"),
    ],
)
def test_visitor_id(pairs: list[tuple[str, str]], cookies: dict[str, str], uuid: str | None,
                    source: str) -> None:
    info = hit(pairs, cookies)
    assert (info.uuid, info.uuid_source) == (uuid, source)


@pytest.mark.parametrize(
    ("pairs", "signals"),
    [
        pytest.param([("c_page", "home")], {"c_page": ("home",)}, id="one"),
        pytest.param([("c_tags", "a,b,,c")], {"c_tags": ("a", "b", "c")}, id="serialized"),
        pytest.param([("c_q", '"a,b"')], {"c_q": ("a,b",)}, id="quoted-keeps-comma"),
        pytest.param([("c_x", "1"), ("c_x", "2")], {"c_x": ("1", "2")}, id="repeated"),
        pytest.param([("c_x", "")], {"c_x": ()}, id="empty-value"),
        pytest.param([("h_referer", "r"), ("c_p", "p")], {"h_referer": ("r",), "c_p": ("p",)},
                     id="other-prefixes"),
        pytest.param(
            [("d_rtbd", "json"), ("d_uuid", UUID), ("p_email", "a@b"), ("gdpr", "1"),
             ("gdpr_consent", "CP"), ("_ts", "1")],
            {}, id="control-keys-are-not-signals",
        ),
    ],
)
def test_signals(pairs: list[tuple[str, str]], signals: dict[str, tuple[str, ...]]) -> None:
    assert dict(hit(pairs).signals) == signals


@pytest.mark.parametrize(
    ("pairs", "gdpr", "consent", "coppa"),
    [
        pytest.param([("gdpr", "1"), ("gdpr_consent", "CPX")], 1, "CPX", False, id="gdpr"),
        pytest.param([("gdpr", "0")], 0, None, False, id="gdpr-0"),
        pytest.param([("gdpr", "yes")], None, None, False, id="gdpr-junk"),
        pytest.param([("gdpr_consent", "")], None, None, False, id="empty-consent"),
        pytest.param([("d_coppa", "1")], None, None, True, id="coppa-1"),
        pytest.param([("d_coppa", "TRUE")], None, None, True, id="coppa-true"),
        pytest.param([("d_coppa", "0")], None, None, False, id="coppa-0"),
    ],
)
def test_consent(pairs: list[tuple[str, str]], gdpr: int | None, consent: str | None,
                 coppa: bool) -> None:
    info = hit(pairs)
    assert (info.gdpr, info.gdpr_consent, info.coppa) == (gdpr, consent, coppa)


def test_mid() -> None:
    assert hit([("d_mid", "m-1")]).mid == "m-1"
    assert hit([("d_mid", "")]).mid is None
    assert hit([]).mid is None


def test_cookie_name_is_configurable() -> None:
    info = read_hit([], {"vid": COOKIE_UUID}, cookie_name="vid")
    assert info.uuid == COOKIE_UUID


@pytest.mark.parametrize(
    ("pairs", "ok"),
    [
        ([("d_rtbd", "json")], True),
        ([("c_page", "x"), ("d_rtbd", "json")], True),
        ([("d_rtbd", "JSON")], False),
        ([("d_rtbd", "")], False),
        ([], False),
    ],
)
def test_wants_json(pairs: list[tuple[str, str]], ok: bool) -> None:
    assert wants_json(pairs) is ok


def test_an_opted_out_cookie_marks_the_hit_opted_out() -> None:
    from edge.visitor import read_hit

    out = read_hit([("c_page", "home")], {"demdex": "NOTARGET"}, cookie_name="demdex")
    assert out.opted_out and out.uuid is None
    assert not read_hit([], {"demdex": "1" * 38}, cookie_name="demdex").opted_out


@pytest.mark.parametrize(
    ("value", "opted_out"),
    [
        ("1YYN", True), ("1NYY", True), ("1-Y-", True), ("1yyn", True),
        ("1YNN", False), ("1---", False), ("2YYN", False), ("1YY", False), ("", False),
        ("1YYNX", False),
    ],
)
def test_us_privacy_opt_out_of_sale(value: str, opted_out: bool) -> None:
    info = hit([("us_privacy", value), ("c_page", "home")])
    assert info.sale_opt_out is opted_out
    assert dict(info.signals) == {"c_page": ("home",)}  # never a signal for providers


def test_no_us_privacy_no_opt_out() -> None:
    assert hit([("c_page", "home")]).sale_opt_out is False
