from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from edge.dcs import errors as E
from edge.dcs.params import GET_LIMIT, POST_LIMIT
from edge.profiles import Profile, StoreUnavailable, open_store
from tests.dcs.helpers import NOW, OPENED, OTHER, UUID, envelope, make_client, tc_string

FORM = {"content-type": "application/x-www-form-urlencoded"}


def error_codes(query: str) -> tuple[list[int], str]:
    client, _ = make_client()
    r = client.get(f"/event?d_rtbd=json&{query}")
    assert r.status_code == 200
    return [e["code"] for e in r.json().get("errors", [])], r.headers.get("x-error", "")


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("d_site=%esid!&c_a=1", [E.BAD_ENCODING]),
        ("d_mid=abc", [E.INVALID_MID]),
        ("d_uuid=123", [E.INVALID_UUID]),
        ("d_cid=bad", [E.INVALID_CID, E.ALL_CIDS_INVALID]),
        ("&".join(f"d_cid={n}%01i{n}" for n in range(1, 12)), [E.MAX_CIDS, E.CID_DISCARDED]),
        ("&".join(f"d_cid_ic=one%01i{n}" for n in range(4)),
         [E.NAMESPACE_CIDS, E.CID_DISCARDED]),
        ("d_cb=alert(1)", [E.UNSPECIFIED]),
        ("gdpr=1", [E.NO_CONSENT]),
        ("gdpr=1&gdpr_consent=" + tc_string(purposes={1}), [E.NO_CONSENT]),
        ("gdpr=1&gdpr_consent=" + tc_string(cmp_id=0), [E.CMP_NOT_IN_GCL]),
        ("gdpr=1&gdpr_consent=" + tc_string(), []),
    ],
)
def test_error_codes_in_body_and_header(query: str, codes: list[int]) -> None:
    body_codes, header = error_codes(query)
    assert body_codes == codes
    assert header == ",".join(str(c) for c in dict.fromkeys(codes))


def test_bad_encoding_disregards_everything() -> None:
    client, store = make_client()
    r = client.get(f"/event?d_rtbd=json&d_uuid={UUID}&c_likes=famous%20popstar&d_site=%esid!")
    assert r.json()["errors"][0]["code"] == E.BAD_ENCODING and "uuid" not in r.json()
    assert "set-cookie" not in r.headers and store.load(UUID) is None


def test_bad_encoding_without_json_is_a_pixel() -> None:
    client, _ = make_client()
    r = client.get("/event?c_a=%zz")
    assert r.headers["content-type"] == "image/gif" and r.headers["x-error"] == "311"


def test_pixel_without_rtbd_json() -> None:
    client, _ = make_client()
    r = client.get("/event?c_a=1")
    assert (r.status_code, r.headers["content-type"]) == (200, "image/gif")
    assert len(r.content) == 43 and "no-store" in r.headers["cache-control"]


@pytest.mark.parametrize(
    ("callback", "jsonp"),
    [("cb", True), ("s_c_il%5B0%5D._set", True), ("a.b.c", True), ("alert(1)", False),
     ("x%3Bevil", False), ("%3Cscript%3E", False)],
)
def test_jsonp_callback_validation(callback: str, jsonp: bool) -> None:
    client, _ = make_client()
    r = client.get(f"/event?d_rtbd=json&d_cb={callback}")
    if jsonp:
        assert r.headers["content-type"].startswith("application/javascript")
        assert r.text.endswith("})")
    else:
        assert r.headers["content-type"] == "application/json"
        assert r.json()["errors"][0]["code"] == E.UNSPECIFIED
    assert r.headers["x-content-type-options"] == "nosniff"


# -- the visitor cookie ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("https", "headers", "secure"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"x-forwarded-proto": "https"}, True),
        (True, {"x-forwarded-proto": "http"}, False),
    ],
)
def test_visitor_cookie_attributes(https: bool, headers: dict[str, str], secure: bool) -> None:
    client, _ = make_client(https=https)
    r = client.get("/event?d_rtbd=json", headers=headers)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"demdex={r.json()['uuid']};")
    assert "Max-Age=15552000" in cookie and "Path=/" in cookie and "HttpOnly" in cookie
    assert ("Secure" in cookie and "SameSite=none" in cookie) == secure
    assert ("SameSite=lax" in cookie) == (not secure)


def test_cookie_identifies_the_visitor_next_time() -> None:
    client, _ = make_client()
    first = client.get("/event?d_rtbd=json").json()["uuid"]
    assert client.get("/event?d_rtbd=json").json()["uuid"] == first


def test_d_uuid_wins_over_cookie() -> None:
    client, _ = make_client()
    client.cookies.set("demdex", OTHER)
    assert client.get(f"/event?d_rtbd=json&d_uuid={UUID}").json()["uuid"] == UUID


def test_mid_links_and_resolves() -> None:
    client, store = make_client()
    mid = "5" * 38
    uuid = client.get(f"/event?d_rtbd=json&d_mid={mid}").json()["uuid"]
    assert store.resolve("mid", mid) == uuid
    client.cookies.clear()
    assert client.get(f"/event?d_rtbd=json&d_mid={mid}").json()["uuid"] == uuid


def test_coppa_sets_no_cookie_and_no_id_syncs() -> None:
    client, store = make_client()
    r = client.get(f"/event?d_rtbd=json&d_jsonv=1&d_coppa=true&d_uuid={UUID}&c_likes=x")
    assert "set-cookie" not in r.headers and "ibs" not in r.json()
    assert store.load(UUID) is not None


# -- id syncs and destinations in the body -------------------------------------------------


def test_ibs_with_jsonv_1_only() -> None:
    client, _ = make_client()
    body = client.get(f"/event?d_rtbd=json&d_jsonv=1&d_uuid={UUID}").json()
    assert body["ibs"][0]["url"] == [f"https://sync.acme.example/px?uid={UUID}&gdpr=0"]
    assert "ibs" not in client.get(f"/event?d_rtbd=json&d_jsonv=0&d_uuid={UUID}").json()


def test_ibs_skips_partners_already_synced() -> None:
    client, _ = make_client()
    body = client.get(f"/event?d_rtbd=json&d_jsonv=1&d_cid=1001%01abc&d_uuid={UUID}").json()
    assert body["ibs"] == []


def test_dests_only_with_d_dst_and_cookie_stuff_always() -> None:
    client, _ = make_client()
    query = f"/event?d_rtbd=json&d_uuid={UUID}&c_likes=famous%20popstar"
    body = client.get(query).json()
    assert "dests" not in body
    assert body["stuff"] == [{"cn": "aam_seg", "cv": "seg=pop", "ttl": 30,
                              "dmn": ".dcs.shop.example"}]
    client2, _ = make_client()
    dests = client2.get(query + "&d_dst=1").json()["dests"]
    assert dests[0]["c"] == f"http://px.example/?a=pop%20star&d={UUID}&r=7"
    assert client2.get(query + "&d_dst=1").json()["dests"] == []  # not newly qualified


def test_p_values_evaluated_never_stored() -> None:
    client, store = make_client()
    body = client.get(f"/event?d_rtbd=json&d_cts=1&d_uuid={UUID}&p_age=23").json()
    assert body["traits"] == [202]
    profile = store.load(UUID)
    assert profile is not None and "p_age" not in profile.attrs and 202 in profile.traits


def test_log_line_has_no_signal_values(caplog: pytest.LogCaptureFixture) -> None:
    client, _ = make_client()
    with caplog.at_level(logging.INFO, logger="edge.dcs"):
        client.get(f"/event?d_uuid={UUID}&p_secret=hunter2&c_page=home")
    lines = [r.getMessage() for r in caplog.records if r.name == "edge.dcs"]
    assert len(lines) == 1 and UUID in lines[0]
    assert "hunter2" not in lines[0] and "p_secret" not in lines[0] and "home" not in lines[0]


# -- CORS ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://shop.example", True), ("https://evil.example", False), (None, False)],
)
def test_cors_on_post(origin: str | None, allowed: bool) -> None:
    client, _ = make_client()
    headers = {**FORM, **({"origin": origin} if origin else {})}
    r = client.post("/event?d_dil_ver=9.5", content="d_rtbd=json&c_a=1", headers=headers)
    assert r.status_code == 200
    # a foreign origin's POST is refused with 109 (tests/dcs/test_origin.py)
    assert ("uuid" in r.json()) == (origin != "https://evil.example")
    assert r.headers.get("access-control-allow-origin") == (origin if allowed else None)
    assert (r.headers.get("access-control-allow-credentials") == "true") == allowed


@pytest.mark.parametrize(
    ("origin", "status"), [("https://shop.example", 204), ("https://evil.example", 403)]
)
def test_cors_preflight(origin: str, status: int) -> None:
    client, _ = make_client()
    r = client.options("/event", headers={"origin": origin,
                                          "access-control-request-method": "POST"})
    assert r.status_code == status
    if status == 204:
        assert r.headers["access-control-allow-origin"] == origin
        assert "POST" in r.headers["access-control-allow-methods"]
    else:
        assert "access-control-allow-origin" not in r.headers


# -- limits -------------------------------------------------------------------------------


def test_get_over_8k_is_414() -> None:
    client, _ = make_client()
    r = client.get("/event?c_a=" + "x" * GET_LIMIT)
    assert (r.status_code, r.headers["x-error"]) == (414, "0")


def test_post_over_32k_is_413() -> None:
    client, _ = make_client()
    r = client.post("/event", content="c_a=" + "x" * POST_LIMIT, headers=FORM)
    assert r.status_code == 413


def test_post_at_32k_is_processed() -> None:
    client, _ = make_client()
    body = "d_rtbd=json&c_a=" + "x" * (POST_LIMIT - len("d_rtbd=json&c_a="))
    assert client.post("/event", content=body, headers=FORM).json()["uuid"]


# -- click redirects ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rd", "location"),
    [
        ("https%3A%2F%2Fpartner.example%2Fx", "https://partner.example/x"),
        ("https%3A%2F%2Fa.sync.example%2Fx", "https://a.sync.example/x"),
        ("https%3A%2F%2Fevil.example%2Fx", None),
        ("https%3A%2F%2Fpartner.example.evil.example%2F", None),
        ("javascript%3Aalert(1)", None),
        ("%2F%2Fpartner.example%2Fx", None),
        ("https%3A%2F%2Fevil.example%5C%40partner.example%2F", None),
    ],
)
def test_click_redirect_only_to_partner_hosts(rd: str, location: str | None) -> None:
    client, _ = make_client()
    r = client.get(f"/event?d_event=click&d_rd={rd}")
    assert r.headers.get("location") == location
    assert r.status_code == (302 if location else 200)


# -- opt-out and consent ------------------------------------------------------------------


def test_opted_out_visitor_gets_171_and_nothing_stored() -> None:
    client, store = make_client()
    store.opt_out(UUID, now=int(NOW))
    r = client.get(f"/event?d_rtbd=json&d_uuid={UUID}&c_likes=famous%20popstar")
    body = r.json()
    assert [e["code"] for e in body["errors"]] == [E.OPTED_OUT] and "uuid" not in body
    assert store.load(UUID) is None and "set-cookie" not in r.headers


def test_notarget_cookie_gets_171() -> None:
    client, store = make_client()
    client.cookies.set("demdex", "NOTARGET")
    r = client.get("/event?d_rtbd=json&c_likes=famous%20popstar")
    assert r.headers["x-error"] == "171" and "uuid" not in r.json()
    assert store.stats().profiles == 0


def test_partner_opt_out_drops_that_partner_only() -> None:
    client, store = make_client()
    store.opt_out(UUID, partner=1001, now=int(NOW))
    r = client.get(f"/event?d_rtbd=json&d_cts=1&d_uuid={UUID}&d_cid=1001%01abc&c_likes="
                   "famous%20popstar", headers={"X-Edge-Enrichment": envelope(UUID, [("sports",
                                                                                        1)])})
    body = r.json()
    assert body["errors"][0]["code"] == E.OPTED_OUT and body["uuid"] == UUID
    assert body["traits"] == [201, 401]
    profile = store.load(UUID)
    assert profile is not None and profile.partner_ids == {}
    assert store.resolve("dpid:1001", "abc") is None


def test_without_consent_nothing_is_stored_nor_synced() -> None:
    client, store = make_client()
    r = client.get(f"/event?d_rtbd=json&d_jsonv=1&gdpr=1&gdpr_consent={tc_string(vendors={1})}"
                   f"&d_uuid={UUID}&c_likes=famous%20popstar")
    body = r.json()
    assert body["errors"][0]["code"] == E.NO_CONSENT
    assert "ibs" not in body and "uuid" not in body and "set-cookie" not in r.headers
    assert store.load(UUID) is None


def test_with_consent_syncs_carry_gdpr() -> None:
    client, _ = make_client()
    body = client.get(f"/event?d_rtbd=json&d_jsonv=1&gdpr=1&gdpr_consent={tc_string()}"
                      f"&d_uuid={UUID}").json()
    assert body["ibs"][0]["url"][0].endswith("&gdpr=1")


# -- the enrichment envelope --------------------------------------------------------------


def counters(client: object) -> dict[str, int]:
    return client.get("/healthz").json()["envelopes"]  # type: ignore[attr-defined, no-any-return]


def test_valid_envelope_realizes_onboarded_traits() -> None:
    client, store = make_client()
    r = client.get(f"/event?d_rtbd=json&d_cts=1&d_uuid={UUID}",
                   headers={"X-Edge-Enrichment": envelope(UUID, [("sports", 1)])})
    assert r.json()["traits"] == [301] and r.json()["segments"] == [901]
    assert counters(client) == {"ok": 1}


def test_new_visitor_takes_the_envelope_uuid() -> None:
    client, store = make_client()
    r = client.get("/event?d_rtbd=json", headers={"X-Edge-Enrichment": envelope(OTHER, [])})
    assert r.json()["uuid"] == OTHER and store.load(OTHER) is not None


Forge = Callable[[], str]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: envelope(UUID, [("sports", 1)], secret="another-secret-of-32-bytes-long!"),
         "EnvelopeBadSignature"),
        (lambda: envelope(OTHER, [("sports", 1)]), "EnvelopeVisitorMismatch"),
        (lambda: envelope(UUID, [("sports", 1)], now=NOW - 3600), "EnvelopeExpired"),
        (lambda: "v1.garbage", "EnvelopeMalformed"),
    ],
)
def test_bad_envelopes_are_ignored_and_counted(make: Forge, reason: str) -> None:
    client, store = make_client()
    r = client.get(f"/event?d_rtbd=json&d_cts=1&d_uuid={UUID}",
                   headers={"X-Edge-Enrichment": make()})
    assert r.status_code == 200 and "errors" not in r.json()
    assert r.json()["traits"] == [] and r.json()["uuid"] == UUID
    assert counters(client) == {reason: 1}


def test_replayed_envelope_is_ignored_and_counted() -> None:
    client, store = make_client()
    value = envelope(UUID, [("sports", 1)], nonce="0123456789abcdef")
    client.get(f"/event?d_uuid={UUID}", headers={"X-Edge-Enrichment": value})
    store.update(UUID, lambda p: p.traits.clear(), now=int(NOW))
    r = client.get(f"/event?d_rtbd=json&d_cts=1&d_uuid={UUID}",
                   headers={"X-Edge-Enrichment": value})
    assert r.json()["traits"] == []
    assert counters(client) == {"ok": 1, "EnvelopeReplayed": 1}


def test_forged_envelope_for_new_visitor_does_not_pick_the_uuid() -> None:
    client, _ = make_client()
    forged = envelope(OTHER, [], secret="x" * 32)
    assert client.get("/event?d_rtbd=json",
                      headers={"X-Edge-Enrichment": forged}).json()["uuid"] != OTHER


# -- store failures -----------------------------------------------------------------------


class FailingStore:
    def __init__(self) -> None:
        self._inner = open_store("sqlite://:memory:")
        OPENED.append(self._inner)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def update(self, uuid: str, fn: Callable[[Profile], None], *, now: int) -> Profile:
        raise StoreUnavailable("locked")


def test_store_unavailable_is_503() -> None:
    client, _ = make_client(store=FailingStore())  # type: ignore[arg-type]
    r = client.get("/event?d_rtbd=json&c_a=1")
    assert (r.status_code, r.headers["x-error"]) == (503, "0")
