from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from edge.contracts import internal
from edge.dcs.app import app_from_env, create_app
from edge.profiles import StoreError
from tests.dcs.helpers import NOW, SECRET, UUID, make_client, make_config

TOKEN = {internal.TOKEN_HEADER: internal.token(SECRET.encode())}


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("dest5.html", "text/html; charset=utf-8"),
     ("tag.js", "application/javascript; charset=utf-8")],
)
def test_tag_files_are_served_when_present(
    tmp_path: Path, name: str, content_type: str
) -> None:
    (tmp_path / name).write_text("content of " + name)
    client, _ = make_client(tag_dir=tmp_path)
    r = client.get(f"/{name}?d_nsid=0")
    assert (r.status_code, r.headers["content-type"]) == (200, content_type)
    assert r.text == "content of " + name


@pytest.mark.parametrize("name", ["dest5.html", "tag.js"])
def test_missing_tag_files_are_404(tmp_path: Path, name: str) -> None:
    client, _ = make_client(tag_dir=tmp_path)
    assert client.get(f"/{name}").status_code == 404


def test_internal_visitor_requires_the_token() -> None:
    client, _ = make_client()
    assert client.get(f"/internal/visitor?uuid={UUID}").status_code == 403
    bad = {internal.TOKEN_HEADER: "nope"}
    assert client.get(f"/internal/visitor?uuid={UUID}", headers=bad).status_code == 403


def test_internal_visitor_by_uuid_and_mid() -> None:
    client, store = make_client()
    mid = "4" * 38
    client.get(f"/event?d_uuid={UUID}&d_mid={mid}&d_cid=1001%01abc")
    store.opt_out(UUID, now=int(NOW))
    expected = {"uuid": UUID, "partner_ids": {"1001": "abc"}, "opted_out": True}
    assert client.get(f"/internal/visitor?uuid={UUID}", headers=TOKEN).json() == expected
    assert client.get(f"/internal/visitor?mid={mid}", headers=TOKEN).json() == expected


@pytest.mark.parametrize("query", ["mid=" + "9" * 38, "", "uuid=short"])
def test_internal_visitor_unknown(query: str) -> None:
    client, _ = make_client()
    assert client.get(f"/internal/visitor?{query}", headers=TOKEN).json() == {
        "uuid": None, "partner_ids": {}, "opted_out": False}


def test_healthz() -> None:
    client, _ = make_client()
    assert client.get("/healthz").json() == {"status": "ok", "envelopes": {}}


def test_owned_store_is_opened_from_config_and_closed_at_shutdown(tmp_path: Path) -> None:
    db = tmp_path / "profiles.db"
    config = make_config(dcs={"store": f"sqlite:///{db}"})
    app = create_app(config, clock=lambda: NOW)
    with TestClient(app) as client:
        client.get(f"/event?d_uuid={UUID}&c_a=1")
    assert db.exists()
    with pytest.raises(StoreError):  # a closed store refuses any call
        app.state.dcs.store.load(UUID)


def test_given_store_is_left_open() -> None:
    client, store = make_client()
    with client:
        client.get(f"/event?d_uuid={UUID}")
    assert store.load(UUID) is not None


def test_app_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(f'secret = "{SECRET}"\n[dcs]\nstore = "sqlite://:memory:"\nregion = 9\n')
    monkeypatch.setenv("EDGE_CONFIG", str(path))
    with TestClient(app_from_env()) as client:  # the lifespan closes the store it opened
        assert client.get("/event?d_rtbd=json").json()["dcs_region"] == 9


def test_app_from_env_without_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGE_CONFIG", raising=False)
    with pytest.raises(RuntimeError, match="EDGE_CONFIG"):
        app_from_env()


def test_unknown_paths_are_404() -> None:
    client, _ = make_client()
    assert client.get("/nothing").status_code == 404
    assert client.delete("/event").status_code == 405
