"""Host-based tenants in the DCS (edge.dcs.tenancy): lookup, errors 1 and 2, kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from edge.config import Config, load
from edge.contracts import internal
from edge.dcs import errors as E
from edge.dcs.app import create_app
from edge.profiles import ProfileStore, open_store
from tests.dcs.helpers import NOW, SECRET

MID = "11112222333344445555666677778888999900"
ACME_ORG, BIRCH_ORG = "AAAA1111@AdobeOrg", "BBBB2222@AdobeOrg"
TENANT = """
[dcs]
region = {region}
{store}
[[providers]]
name = "{name}-p"
dpid = {dpid}
url = "http://127.0.0.1:9/seg"
sync_url = "https://sync.{name}.example/?u=%DID%"

[[traits]]
sid = {sid}
rule = 'c_page == "home"'

[[segments]]
sid = {seg}
rule = "{sid}T"
"""


def deployment(tmp_path: Path, birch_store: str = "") -> Config:
    for name, region, dpid, sid, store in (("acme", 7, 1001, 1, ""),
                                           ("birch", 9, 2001, 2, birch_store)):
        (tmp_path / f"{name}.toml").write_text(TENANT.format(
            name=name, region=region, dpid=dpid, sid=sid, seg=sid * 100, store=store))
    (tmp_path / "main.toml").write_text(f"""
secret = "{SECRET}"
[dcs]
store = "sqlite://:memory:"
[[tenants]]
name = "acme"
hosts = ["acme.dcs.test", "dpm.dcs.test"]
orgid = "{ACME_ORG}"
config = "acme.toml"
[[tenants]]
name = "birch"
hosts = ["birch.dcs2.test", "dpm.dcs2.test"]
orgid = "{BIRCH_ORG}"
config = "birch.toml"
""")
    return load(tmp_path / "main.toml", env={})


def client_for(cfg: Config, host: str, store: ProfileStore | None = None) -> TestClient:
    app = create_app(cfg, store=store, clock=lambda: NOW)
    return TestClient(app, base_url=f"https://{host}", follow_redirects=False)


@pytest.fixture
def store() -> Iterator[ProfileStore]:
    opened = open_store("sqlite://:memory:")
    yield opened
    opened.close()


@pytest.mark.parametrize(("host", "region", "segment", "sync"),
                         [("acme.dcs.test", 7, 100, "acme"), ("birch.dcs2.test", 9, 200, "birch")])
def test_each_host_gets_its_tenants_rules_and_providers(
    tmp_path: Path, store: ProfileStore, host: str, region: int, segment: int, sync: str
) -> None:
    client = client_for(deployment(tmp_path), host, store)
    doc = client.get("/event?d_rtbd=json&d_cts=2&d_jsonv=1&c_page=home").json()
    assert doc["dcs_region"] == region and doc["segments"] == [segment]
    assert doc["ibs"][0]["url"][0].startswith(f"https://sync.{sync}.example/")


def test_the_forwarded_host_names_the_tenant(tmp_path: Path, store: ProfileStore) -> None:
    client = client_for(deployment(tmp_path), "127.0.0.1:8081", store)
    doc = client.get("/id?d_ver=2&d_rtbd=json", headers={"x-forwarded-host": "dpm.dcs2.test"})
    assert doc.json()["subdomain"] == "birch" and doc.json()["dcs_region"] == 9


@pytest.mark.parametrize(
    ("path", "json"),
    [("/event?d_rtbd=json&c_a=1", True), ("/event?c_a=1", False), ("/id?d_ver=2", False),
     ("/id?d_ver=2&d_rtbd=json", True), ("/ibs:dpid=1001&dpuuid=x", False),
     ("/demoptout.jpg", False)],
)
def test_an_unknown_host_is_error_1_and_nothing_is_stored(
    tmp_path: Path, store: ProfileStore, path: str, json: bool
) -> None:
    client = client_for(deployment(tmp_path), "other.dcs.test", store)
    r = client.get(path)
    assert r.status_code == 200 and r.headers["x-error"] == "1"
    if json:
        assert [e["code"] for e in r.json()["errors"]] == [E.NO_CONFIG]
    assert "set-cookie" not in r.headers and store.stats().profiles == 0


def codes(r: Any) -> list[int]:
    return [e["code"] for e in r.json().get("errors", [])]


@pytest.mark.parametrize("path", ["/event?d_rtbd=json&c_page=home", "/id?d_ver=2&d_rtbd=json"])
def test_another_tenants_orgid_is_error_2(tmp_path: Path, store: ProfileStore, path: str) -> None:
    client = client_for(deployment(tmp_path), "acme.dcs.test", store)
    wrong = client.get(f"{path}&d_orgid=BBBB2222%40AdobeOrg&d_mid={MID}")
    assert codes(wrong) == [E.INVALID_ORGID] and "set-cookie" not in wrong.headers
    assert store.stats().profiles == 0 and store.resolve("acme/mid", MID) is None
    right = client.get(f"{path}&d_orgid=AAAA1111%40AdobeOrg&d_mid={MID}")
    assert codes(right) == [] and store.resolve("acme/mid", MID) is not None


def test_the_same_mid_on_two_tenants_is_two_visitors(tmp_path: Path, store: ProfileStore) -> None:
    cfg = deployment(tmp_path)
    acme, birch = client_for(cfg, "dpm.dcs.test", store), client_for(cfg, "dpm.dcs2.test", store)
    acme.get(f"/id?d_ver=2&d_mid={MID}")
    birch.get(f"/id?d_ver=2&d_mid={MID}")
    a, b = store.resolve("acme/mid", MID), store.resolve("birch/mid", MID)
    assert a and b and a != b and store.resolve("mid", MID) is None
    token = {internal.TOKEN_HEADER: internal.token(SECRET.encode())}
    for name, uuid in (("acme", a), ("birch", b)):
        doc = acme.get(f"{internal.VISITOR_PATH}?mid={MID}&tenant={name}", headers=token).json()
        assert doc["uuid"] == uuid
    r = acme.get(f"{internal.VISITOR_PATH}?mid={MID}&tenant=zeta", headers=token)
    assert r.status_code == 404


def test_a_tenant_with_its_own_store(tmp_path: Path, store: ProfileStore) -> None:
    db = tmp_path / "birch.db"
    cfg = deployment(tmp_path, birch_store=f'store = "sqlite:///{db.as_posix()}"')
    with client_for(cfg, "dpm.dcs2.test", store) as birch:
        birch.get(f"/id?d_ver=2&d_mid={MID}")
    own = open_store(f"sqlite:///{db.as_posix()}")
    try:
        assert own.resolve("mid", MID) is not None and store.stats().profiles == 0
    finally:
        own.close()
