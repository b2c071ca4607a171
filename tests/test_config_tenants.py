"""``[[tenants]]``: one deployment serving several customers, each with its own file."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from edge import config
from edge.config import ConfigError

MAIN = """
secret = "a-test-secret-of-32-bytes-length"
[dcs]
store = "sqlite://:memory:"
region = 7
allowed_origins = ["https://main.example"]

[[tenants]]
name = "acme"
hosts = ["acme.dcs.test", "DPM.dcs.test"]
orgid = "AAAA1111@AdobeOrg"
config = "tenants/acme.toml"

[[tenants]]
name = "birch"
hosts = ["birch.dcs2.test", "dpm.dcs2.test"]
orgid = "BBBB2222@AdobeOrg"
config = "tenants/birch.toml"
"""
ACME = """
[dcs]
allowed_origins = ["https://www.acme.example"]
region = 9

[[providers]]
name = "seg"
dpid = 1001
url = "http://127.0.0.1:9/seg"

[[traits]]
sid = 1
rule = 'c_page == "home"'
"""
BIRCH = """
[[traits]]
sid = 7
rule = 'c_page == "shoes"'
"""


Edit = Callable[[str, str], tuple[str, str]]


def write(tmp_path: Path, main: str = MAIN, acme: str = ACME, birch: str = BIRCH) -> Path:
    (tmp_path / "tenants").mkdir(exist_ok=True)
    (tmp_path / "tenants" / "acme.toml").write_text(acme)
    (tmp_path / "tenants" / "birch.toml").write_text(birch)
    path = tmp_path / "main.toml"
    path.write_text(main)
    return path


def test_each_tenant_has_its_own_content_and_dcs_subset(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path), env={})
    acme, birch = cfg.tenants
    assert (acme.name, acme.hosts, acme.orgid) == ("acme", ("acme.dcs.test", "dpm.dcs.test"),
                                                   "AAAA1111@AdobeOrg")
    assert [p.name for p in acme.config.providers] == ["seg"] and birch.config.providers == ()
    assert [t.sid for t in acme.config.traits] == [1]
    assert [t.sid for t in birch.config.traits] == [7]
    assert acme.config.dcs.allowed_origins == ("https://www.acme.example",)
    assert (acme.config.dcs.region, birch.config.dcs.region) == (9, 7)  # override, main value
    assert birch.config.dcs.allowed_origins == ("https://main.example",)
    assert acme.config.secret == cfg.secret and acme.config.edge == cfg.edge
    assert (acme.config.tenant, cfg.tenant) == ("acme", "")


@pytest.mark.parametrize(
    ("host", "tenant"),
    [("acme.dcs.test", "acme"), ("ACME.dcs.test:8443", "acme"), ("dpm.dcs.test", "acme"),
     ("dpm.dcs2.test.", "birch"), ("other.dcs.test", None), ("", None)],
)
def test_tenant_for_host(tmp_path: Path, host: str, tenant: str | None) -> None:
    found = config.load(write(tmp_path), env={}).tenant_for(host)
    assert (found.name if found else None) == tenant


def test_without_tenants_the_config_is_the_only_tenant() -> None:
    cfg = config.parse('secret = "a-test-secret-of-32-bytes-length"', env={})
    [only] = cfg.all_tenants()
    assert only.config is cfg and only.orgid is None and only.name == ""
    assert cfg.tenant_for("anything.example") == only


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m, a: (m.replace("dpm.dcs2.test", "dpm.dcs.test"), a), "already acme's"),
        (lambda m, a: (m.replace('"birch"', '"acme"'), a), "tenants[1].name: duplicate"),
        (lambda m, a: (m.replace("BBBB2222@AdobeOrg", "BBBB2222"), a), "tenants[1].orgid"),
        (lambda m, a: (m.replace('hosts = ["birch.dcs2.test", "dpm.dcs2.test"]', "hosts = []"),
                       a), "tenants[1].hosts"),
        (lambda m, a: (m.replace("tenants/birch.toml", "nope.toml"), a), "cannot read"),
        (lambda m, a: (m, a + "\n[edge]\nlisten = '1.2.3.4:5'\n"), "edge: unknown key"),
        (lambda m, a: (m, a.replace("region = 9", "listen = '1.2.3.4:5'")),
         "dcs.listen: unknown key"),
        (lambda m, a: (m, a.replace("dpid = 1001", "dpid = -1")), "acme.toml: providers[0]"),
        (lambda m, a: (m + "\n[[traits]]\nsid = 3\nrule = 'a == \"b\"'\n", a),
         "each tenant's file holds its traits"),
    ],
)
def test_invalid_tenants(tmp_path: Path, edit: Edit, message: str) -> None:
    main, acme = edit(MAIN, ACME)
    with pytest.raises(ConfigError, match=re.escape(message)):
        config.load(write(tmp_path, main, acme), env={})
