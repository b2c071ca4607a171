from __future__ import annotations

import pytest

from edge.dcs import errors as E
from edge.dcs.errors import ParamError, TooLarge
from edge.dcs.params import GET_LIMIT, POST_LIMIT, DeclaredId, header_signals, parse_request

UUID = "12345678901234567890123456789012345678"


def codes(query: str) -> list[int]:
    return [e.code for e in parse_request(query).errors]


@pytest.mark.parametrize(
    ("query", "signals"),
    [
        ("c_a=1&d_event=imp&p_age=23&plain=x",
         {"c_a": ["1"], "d_event": ["imp"], "p_age": ["23"], "plain": ["x"]}),
        ("c_k=a,b,c", {"c_k": ["a", "b", "c"]}),
        ("c_k=a&c_k=b", {"c_k": ["a", "b"]}),
        ("age=%2241%20to%2055%22", {"age": ["41 to 55"]}),
        ("d_rtbd=json&d_uuid=" + UUID + "&d_cb=f&gdpr=1", {}),
        ("=orphan", {}),
    ],
)
def test_signals(query: str, signals: dict[str, list[str]]) -> None:
    assert parse_request(query).signals == signals


def test_p_keys_are_evaluated_but_not_stored() -> None:
    req = parse_request("p_age=23&c_a=1")
    assert req.signals["p_age"] == ["23"]
    assert req.stored_signals() == {"c_a": ["1"]}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Host": "a.example", "User-Agent": "UA"},
         {"h_host": ["a.example"], "h_user-agent": ["UA"]}),
        ({"referer": "https://r/"}, {"h_referer": ["https://r/"], "h_referrer": ["https://r/"]}),
        ({"accept-language": "fr", "Date": "d", "X-Other": "no"},
         {"h_accept-language": ["fr"], "h_date": ["d"]}),
    ],
)
def test_header_signals(headers: dict[str, str], expected: dict[str, list[str]]) -> None:
    assert header_signals(headers) == expected


def test_header_wins_over_query_h_key() -> None:
    req = parse_request("h_host=spoof&h_referer=page", headers={"host": "real"})
    assert req.signals["h_host"] == ["real"]
    assert req.signals["h_referer"] == ["page"]


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ("d_rtbd=json", "json", True),
        ("d_rtbd=JSON", "json", True),
        ("", "json", False),
        ("d_jsonv=1", "jsonv", 1),
        ("d_jsonv=0", "jsonv", 0),
        ("d_jsonv=7", "jsonv", None),
        ("d_dst=1", "dst", True),
        ("d_cts=2", "cts", 2),
        ("d_cts=3", "cts", None),
        ("d_sid=1234,5678,9876,5432", "sids", (1234, 5678, 9876, 5432)),
        ("d_sid=1&d_sid=2,x,2", "sids", (1, 2)),
        ("d_tdpid=1,2", "tdpids", (1, 2)),
        ("d_tdpid_ic=ic2", "tdpid_ics", ("ic2",)),
        ("d_uuid=" + UUID, "uuid", UUID),
        ("d_mid=" + UUID, "mid", UUID),
        ("gdpr=1&gdpr_consent=abc", "gdpr", 1),
        ("gdpr=1&gdpr_consent=abc", "gdpr_consent", "abc"),
        ("gdpr=yes", "gdpr", None),
        ("d_coppa=true", "coppa", True),
        ("d_coppa=1", "coppa", True),
        ("d_coppa=false", "coppa", False),
        ("d_rd=http%3A%2F%2Fa.example%2F", "rd", "http://a.example/"),
        ("d_ptfm=ios", "ptfm", "ios"),
        ("d_caller=me", "caller", "me"),
        ("d_cb=acme_callback", "callback", "acme_callback"),
        ("d_cb=s_c_il%5B1%5D._setAudienceManagerFields", "callback",
         "s_c_il[1]._setAudienceManagerFields"),
        ("d_cb=$.cb_1", "callback", "$.cb_1"),
        ("d_uuid=1&d_uuid=" + UUID, "uuid", None),
    ],
)
def test_control_fields(query: str, field: str, value: object) -> None:
    assert getattr(parse_request(query), field) == value


@pytest.mark.parametrize(
    "name",
    ["alert(1)", "a;b", "1abc", "a[b]", "a..b", "a.", "<x>", "a b", "x" * 129, "a[1"],
)
def test_bad_callback_is_dropped_with_an_error(name: str) -> None:
    from urllib.parse import quote

    req = parse_request("d_cb=" + quote(name, safe=""))
    assert req.callback is None
    assert [e.code for e in req.errors] == [E.UNSPECIFIED]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("d_uuid=123", [E.INVALID_UUID]),
        ("d_uuid=" + "1" * 39, [E.INVALID_UUID]),
        ("d_mid=abc", [E.INVALID_MID]),
        ("d_cid=abc", [E.INVALID_CID, E.ALL_CIDS_INVALID]),
        ("d_cid=x%01y", [E.INVALID_CID, E.ALL_CIDS_INVALID]),
        ("d_cid=1%01a&d_cid=%01b", [E.INVALID_CID]),
        ("d_cid_ic=ic%01a%019", [E.INVALID_CID, E.ALL_CIDS_INVALID]),
        ("d_cid=1%01a", []),
    ],
)
def test_id_error_codes(query: str, expected: list[int]) -> None:
    assert codes(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("d_cid=123%01987", [DeclaredId("dpid", "123", "987")]),
        ("d_cid_ic=456%01321", [DeclaredId("ic", "456", "321")]),
        ("d_cid_ic=crm%01u1%011", [DeclaredId("ic", "crm", "u1", 1)]),
        ("d_cid=123%01a%2520b", [DeclaredId("dpid", "123", "a%20b")]),
        ("d_dpid=5678&d_dpuuid=1234", [DeclaredId("dpid", "5678", "1234")]),
        ("dpid=24&dpuuid=98765", [DeclaredId("dpid", "24", "98765")]),
        ("d_cid=007%01x", [DeclaredId("dpid", "7", "x")]),
    ],
)
def test_declared_ids(query: str, expected: list[DeclaredId]) -> None:
    assert list(parse_request(query).cids) == expected


def test_more_than_three_per_namespace_gives_310_and_309() -> None:
    req = parse_request("&".join(["d_cid_ic=one%01a", "d_cid_ic=one%01b", "d_cid_ic=one%01c",
                                  "d_cid_ic=one%01d", "d_cid_ic=two%01e"]))
    assert [c.id for c in req.cids] == ["a", "b", "c", "e"]
    assert [e.code for e in req.errors] == [E.NAMESPACE_CIDS, E.CID_DISCARDED]
    assert req.errors[1].msg.endswith(": d")


def test_more_than_ten_gives_301_and_309_per_discarded_id() -> None:
    query = "&".join(f"d_cid={n}%01id{n}" for n in range(1, 13))
    req = parse_request(query)
    assert len(req.cids) == 10
    assert [e.code for e in req.errors] == [E.MAX_CIDS, E.CID_DISCARDED, E.CID_DISCARDED]
    assert [e.msg.rsplit(": ", 1)[1] for e in req.errors[1:]] == ["id11", "id12"]


@pytest.mark.parametrize("query", ["d_site=%esid!", "c_a=1&c_b=%", "c_%zz=1"])
def test_bad_encoding_disregards_the_request(query: str) -> None:
    with pytest.raises(ParamError) as info:
        parse_request(query)
    assert info.value.error.code == E.BAD_ENCODING


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("a=" + "x" * GET_LIMIT, "", 414),
        ("", "a=" + "x" * POST_LIMIT, 413),
    ],
)
def test_size_limits(query: str, body: str, status: int) -> None:
    with pytest.raises(TooLarge) as info:
        parse_request(query, body)
    assert info.value.status == status


def test_at_the_limits_is_fine() -> None:
    parse_request("a=" + "x" * (GET_LIMIT - 2), "a=" + "x" * (POST_LIMIT - 2))


def test_body_pairs_follow_query_pairs() -> None:
    req = parse_request("d_dil_ver=9.5&c_a=q", "c_a=b&d_rtbd=json")
    assert req.signals["c_a"] == ["q", "b"]
    assert req.json
