"""``/id``: the ID service call VisitorAPI makes before DIL's ``/event`` (edge.dcs.idservice)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from edge.dcs import errors as E
from edge.profiles import ProfileStore
from tests.dcs.helpers import UUID, make_client, tc_string

MID = "11112222333344445555666677778888999900"
BASE = "/id?d_visid_ver=5.5.0&d_fieldgroup=MC&d_rtbd=json&d_ver=2&d_nsid=0"
CALLBACK = "s_c_il%5B1%5D._setAudienceManagerFields"


def ask(query: str = "", cookie: str | None = None, **kw: Any
        ) -> tuple[dict[str, Any], Any, ProfileStore]:
    client, store = make_client()
    if cookie:
        client.cookies.set("demdex", cookie)
    r = client.get(BASE + query, **kw)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return r.json(), r, store


def codes(doc: dict[str, Any]) -> list[int]:
    return [e["code"] for e in doc.get("errors", [])]


def test_a_first_call_gets_every_field_visitorapi_reads() -> None:
    doc, r, store = ask()
    assert re.fullmatch(r"[0-9]{38}", doc["d_mid"])
    assert (doc["dcs_region"], doc["id_sync_ttl"], doc["d_ottl"]) == (7, 604800, 7200)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", doc["d_blob"]) and len(doc["tid"]) == 12
    uuid = r.cookies["demdex"]
    assert store.resolve("mid", doc["d_mid"]) == uuid
    [sync] = doc["ibs"]
    assert sync == {"id": "1001", "ttl": 10080, "tag": "img", "fireURLSync": 1,
                    "syncOnPage": 0, "url": [f"https://sync.acme.example/px?uid={uuid}&gdpr=0"]}
    assert "d_optout" not in doc and "errors" not in doc and "subdomain" not in doc


def test_the_clients_mid_and_blob_are_kept_and_the_mid_is_tied_to_the_visitor() -> None:
    client, store = make_client()
    doc = client.get(f"{BASE}&d_mid={MID}&d_blob=abc_DEF-1").json()
    assert (doc["d_mid"], doc["d_blob"]) == (MID, "abc_DEF-1")
    uuid = client.cookies["demdex"]
    assert store.resolve("mid", MID) == uuid
    client.cookies.clear()
    # a later /event hit carrying only d_mid finds that visitor's profile
    hit = client.get(f"/event?d_rtbd=json&d_mid={MID}&c_likes=famous%20popstar").json()
    assert hit["uuid"] == uuid


def test_a_returning_visitor_keeps_the_cookies_uuid() -> None:
    doc, r, store = ask(f"&d_mid={MID}", cookie=UUID)
    assert store.resolve("mid", MID) == UUID and r.cookies["demdex"] == UUID
    assert UUID in doc["ibs"][0]["url"][0]


@pytest.mark.parametrize("given", ["", "&d_blob=" + "x" * 513, "&d_blob=a%2Bb"])
def test_a_missing_or_odd_blob_is_replaced(given: str) -> None:
    doc, _, _ = ask(given)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,512}", doc["d_blob"])


def test_jsonp_with_the_visitorapi_callback() -> None:
    client, _ = make_client()
    r = client.get(f"{BASE}&d_cb={CALLBACK}")
    assert r.headers["content-type"].startswith("application/javascript")
    name = "s_c_il[1]._setAudienceManagerFields"
    assert r.text.startswith(name + "(") and r.text.endswith(")")
    assert re.fullmatch(r"[0-9]{38}", json.loads(r.text[len(name) + 1 : -1])["d_mid"])


@pytest.mark.parametrize(("origin", "allowed"),
                         [("https://shop.example", True), ("https://evil.example", False)])
def test_cors_for_allowed_origins_only(origin: str, allowed: bool) -> None:
    _, r, _ = ask(headers={"origin": origin})
    assert r.headers.get("access-control-allow-origin") == (origin if allowed else None)
    assert (r.headers.get("access-control-allow-credentials") == "true") == allowed


def test_coppa_sets_no_cookie_and_offers_no_syncs() -> None:
    doc, r, store = ask(f"&d_coppa=true&d_mid={MID}")
    assert "demdex" not in r.cookies and "ibs" not in doc and doc["d_mid"] == MID
    assert store.resolve("mid", MID) is not None


def test_declared_ids_become_partner_ids_and_skip_their_sync() -> None:
    doc, r, store = ask("&d_cid_ic=acme%01ACME-42%011")
    uuid = r.cookies["demdex"]
    profile = store.load(uuid)
    assert profile is not None and profile.partner_ids == {1001: "ACME-42"}
    assert store.resolve("cid_ic:acme", "ACME-42") == uuid
    assert doc["ibs"] == []


@pytest.mark.parametrize("cookie", ["NOTARGET", "stored"])
def test_opted_out_visitors_get_d_optout_and_nothing_is_stored(cookie: str) -> None:
    client, store = make_client()
    if cookie == "stored":
        store.opt_out(UUID, now=1)
    client.cookies.set("demdex", UUID if cookie == "stored" else cookie)
    r = client.get(f"{BASE}&d_mid={MID}")
    doc = r.json()
    assert doc["d_optout"] == ["global"] and doc["d_ottl"] == 7200
    assert codes(doc) == [E.OPTED_OUT] and "ibs" not in doc
    assert store.resolve("mid", MID) is None and "set-cookie" not in r.headers


@pytest.mark.parametrize(("consent", "code"), [(tc_string(vendors={1}), E.NO_CONSENT),
                                               (tc_string(cmp_id=0), E.CMP_NOT_IN_GCL)])
def test_without_consent_no_cookie_no_syncs_no_link(consent: str, code: int) -> None:
    doc, r, store = ask(f"&d_mid={MID}&gdpr=1&gdpr_consent={consent}")
    assert codes(doc) == [code] and "ibs" not in doc and "demdex" not in r.cookies
    assert store.resolve("mid", MID) is None and doc["d_mid"] == MID


def test_with_consent_the_syncs_carry_gdpr() -> None:
    doc, _, _ = ask(f"&gdpr=1&gdpr_consent={tc_string()}")
    assert doc["ibs"][0]["url"][0].endswith("&gdpr=1")


def test_a_badly_encoded_query_is_disregarded() -> None:
    doc, r, _ = ask("&d_blob=%zz")
    assert codes(doc) == [E.BAD_ENCODING] and "d_mid" not in doc and "demdex" not in r.cookies


def test_an_invalid_mid_is_replaced_and_reported() -> None:
    doc, _, _ = ask("&d_mid=123")
    assert codes(doc) == [E.INVALID_MID] and doc["d_mid"] != "123"


def test_preflight() -> None:
    client, _ = make_client()
    r = client.options("/id", headers={"origin": "https://shop.example",
                                       "access-control-request-method": "GET"})
    assert r.status_code == 204
