from __future__ import annotations

import pytest

from edge.dcs import errors as E
from tests.dcs.helpers import NOW, UUID, make_client, tc_string

REDIR = "https%3A%2F%2Fpartner.example%2Fecm%3Fid%3D%24%7BDD_UUID%7D"


@pytest.mark.parametrize(
    "path",
    [
        "/ibs:dpid=411&dpuuid=YRNggwAAAL9ULAPw",
        "/ibs?dpid=411&dpuuid=YRNggwAAAL9ULAPw",
        "/ibs:d_cid=411%01YRNggwAAAL9ULAPw",
        "/ibs:d_dpid=411&d_dpuuid=YRNggwAAAL9ULAPw",
        "/ibs/dpid=411&dpuuid=YRNggwAAAL9ULAPw",
    ],
)
def test_ibs_stores_the_partner_id(path: str) -> None:
    client, store = make_client()
    client.cookies.set("demdex", UUID)
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    profile = store.load(UUID)
    assert profile is not None and profile.partner_ids == {411: "YRNggwAAAL9ULAPw"}
    assert store.resolve("dpid:411", "YRNggwAAAL9ULAPw") == UUID


def test_ibs_for_a_new_visitor_sets_the_cookie() -> None:
    client, store = make_client(https=True)
    r = client.get("/ibs:dpid=24&dpuuid=98765")
    uuid = store.resolve("dpid:24", "98765")
    assert uuid is not None
    assert r.headers["set-cookie"].startswith(f"demdex={uuid};")
    assert "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize(
    ("redir", "location"),
    [
        (REDIR, f"https://partner.example/ecm?id={UUID}"),
        ("https%3A%2F%2Fx.sync.example%2F%24%7BDD_UUID%7D", f"https://x.sync.example/{UUID}"),
        ("https%3A%2F%2Fevil.example%2F%3Fid%3D%24%7BDD_UUID%7D", None),
        ("javascript%3Aalert(1)", None),
    ],
)
def test_ibs_redirect_only_to_partner_hosts(redir: str, location: str | None) -> None:
    client, _ = make_client()
    client.cookies.set("demdex", UUID)
    r = client.get(f"/ibs:dpid=139200&dpuuid=y3G1uIFGT9WAoAxOuzRS6g&redir={redir}")
    assert r.headers.get("location") == location
    assert r.status_code == (302 if location else 200)


def test_ibs_keeps_commas_in_the_partner_id() -> None:
    client, store = make_client()
    client.cookies.set("demdex", UUID)
    client.get("/ibs:dpid=5&dpuuid=a%2Cb")
    profile = store.load(UUID)
    assert profile is not None and profile.partner_ids == {5: "a,b"}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("&gdpr=1", E.NO_CONSENT),
        ("&gdpr=1&gdpr_consent=" + tc_string(purposes={1}), E.NO_CONSENT),
        ("&dpuuid=%zz", E.BAD_ENCODING),
    ],
)
def test_ibs_refused_stores_nothing_and_does_not_redirect(query: str, code: int) -> None:
    client, store = make_client()
    client.cookies.set("demdex", UUID)
    r = client.get(f"/ibs:dpid=5&dpuuid=x&redir={REDIR}{query}")
    assert r.status_code == 200 and r.headers["x-error"] == str(code)
    assert store.load(UUID) is None


def test_ibs_with_consent_is_honored() -> None:
    client, store = make_client()
    client.cookies.set("demdex", UUID)
    client.get(f"/ibs:dpid=5&dpuuid=x&gdpr=1&gdpr_consent={tc_string()}")
    assert store.resolve("dpid:5", "x") == UUID


@pytest.mark.parametrize("partner", [None, 5])
def test_ibs_for_an_opted_out_visitor(partner: int | None) -> None:
    client, store = make_client()
    store.opt_out(UUID, partner=partner, now=int(NOW))
    client.cookies.set("demdex", UUID)
    r = client.get(f"/ibs:dpid=5&dpuuid=x&redir={REDIR}")
    assert r.headers["x-error"] == "171" and "location" not in r.headers
    assert store.resolve("dpid:5", "x") is None


# -- opt-out ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/demoptout.jpg", "/demoptout"])
def test_global_opt_out_sets_notarget(path: str) -> None:
    client, store = make_client(https=True)
    client.cookies.set("demdex", UUID)
    r = client.get(path)
    assert r.headers["content-type"] == "image/gif"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("demdex=NOTARGET;") and f"Max-Age={3650 * 86400}" in cookie
    assert store.is_opted_out(UUID)
    again = client.get("/event?d_rtbd=json")
    assert again.headers["x-error"] == "171" and "uuid" not in again.json()


@pytest.mark.parametrize("query", [f"d_uuid={UUID}", "d_mid=" + "7" * 38])
def test_partner_level_opt_out_by_device_id(query: str) -> None:
    client, store = make_client()
    store.link("mid", "7" * 38, UUID, now=int(NOW))
    r = client.get(f"/demoptout.jpg?{query}")
    assert "set-cookie" not in r.headers
    assert store.is_opted_out(UUID)
    assert client.get(f"/event?d_rtbd=json&d_uuid={UUID}").headers["x-error"] == "171"


@pytest.mark.parametrize(
    ("query", "partner"), [("d_cid=123%01987", 123), ("d_cid_ic=ic2%01987", 2)]
)
def test_opt_out_by_declared_id_is_per_partner(query: str, partner: int) -> None:
    client, store = make_client()
    alias = "dpid:123" if partner == 123 else "cid_ic:ic2"
    store.link(alias, "987", UUID, now=int(NOW))
    client.get(f"/demoptout?{query}")
    assert store.is_opted_out(UUID, partner=partner) and not store.is_opted_out(UUID)
