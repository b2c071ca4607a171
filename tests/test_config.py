"""The deployment config: every error names its key; good files become frozen objects."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from edge import config
from edge.config import ConfigError

SECRET = "0123456789abcdef"  # exactly 16 bytes, the minimum
DEMO = Path(config.__file__).parent / "demo.toml"


def base() -> dict[str, Any]:
    """A small valid document touching every table."""
    return {
        "secret": SECRET,
        "edge": {"deadline_ms": 100, "routes": {"dcs": ["/event", "/ibs"]}},
        "dcs": {"region": 7},
        "providers": [
            {"name": "acme", "dpid": 1001, "url": "http://acme.test/v1"},
            {"name": "birch", "dpid": 1002, "url": "https://birch.test/v1"},
        ],
        "data_sources": [{"dpid": 1001, "name": "Acme", "ic": "acme"}],
        "traits": [
            {"sid": 1, "rule": 'c_page == "home"'},
            {"sid": 2, "rule": 'ic == "sports"', "kind": "onboarded", "dpid": 1001},
        ],
        "segments": [{"sid": 10, "rule": "1T"}, {"sid": 11, "rule": "2T"}],
        "destinations": [
            {"id": 1, "kind": "url", "url": "http://dsp.test/p?s=%ALIAS%", "mappings": {"10": "a"}},
            {"id": 2, "kind": "cookie", "cookie_name": "segs", "domain": ".shop.test"},
        ],
    }


def with_(path: str, value: Any, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `doc` (default: base()) with the dotted `path` set ("providers.1.dpid")."""
    doc = copy.deepcopy(base() if doc is None else doc)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def without(path: str) -> dict[str, Any]:
    doc = base()
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[last]
    return doc


def test_base_document_is_valid() -> None:
    cfg = config.from_dict(base(), env={})
    assert cfg.secret == SECRET.encode()
    assert [p.name for p in cfg.providers] == ["acme", "birch"]
    assert cfg.edge.routes.dcs == ("/event", "/ibs")
    assert cfg.destinations[0].mappings == {10: "a"}
    assert cfg.destinations[1].domain == ".shop.test"
    assert cfg.traits[1].kind == "onboarded"


ERRORS = [
    # unknown keys, at every level
    pytest.param(with_("secrt", "x"), "secrt: unknown key", id="unknown-top"),
    pytest.param(with_("edge.deadline", 5), "edge.deadline: unknown key", id="unknown-edge"),
    pytest.param(with_("edge.routes.pixel", ["/p"]), "edge.routes.pixel: unknown key",
                 id="unknown-route"),
    pytest.param(with_("dcs.regoin", 7), "dcs.regoin: unknown key", id="unknown-dcs"),
    pytest.param(with_("providers.1.urll", "http://x.test"), "providers[1].urll: unknown key",
                 id="unknown-provider"),
    pytest.param(with_("providers.0.breaker", {"fails": 1}),
                 "providers[0].breaker.fails: unknown key", id="unknown-breaker"),
    pytest.param(with_("traits.0.when", "x"), "traits[0].when: unknown key", id="unknown-trait"),
    pytest.param(with_("destinations.0.alias", "x"), "destinations[0].alias: unknown key",
                 id="unknown-destination"),
    # wrong types
    pytest.param(with_("edge", 5), "edge: expected dict", id="edge-not-table"),
    pytest.param(with_("providers", {"name": "a"}), "providers: expected list",
                 id="providers-not-array"),
    pytest.param(with_("providers.0", "acme"), "providers[0]: expected a table",
                 id="provider-not-table"),
    pytest.param(with_("edge.deadline_ms", "100"), "edge.deadline_ms: expected int",
                 id="int-as-string"),
    pytest.param(with_("edge.deadline_ms", True), "edge.deadline_ms: expected int",
                 id="bool-is-not-int"),
    pytest.param(with_("dcs.case_sensitive", 1), "dcs.case_sensitive: expected bool",
                 id="int-is-not-bool"),
    pytest.param(with_("dcs.partner_hosts", ["a", 1]),
                 "dcs.partner_hosts: expected a list of strings", id="strings"),
    pytest.param(with_("dcs.tcf_purposes", [1, "10"]),
                 "dcs.tcf_purposes: expected a list of integers", id="ints"),
    pytest.param(with_("providers.0.tcf_purposes", [True]),
                 "providers[0].tcf_purposes: expected a list of integers", id="ints-bool"),
    pytest.param(with_("providers.0.name", 5), "providers[0].name: expected str",
                 id="name-type"),
    # numbers
    pytest.param(with_("providers.0.timeout_ms", -5),
                 "providers[0].timeout_ms: expected a positive integer, got -5",
                 id="negative-timeout"),
    pytest.param(with_("providers.0.timeout_ms", 0),
                 "providers[0].timeout_ms: expected a positive integer, got 0", id="zero-timeout"),
    pytest.param(with_("providers.0.ttl_s", -1),
                 "providers[0].ttl_s: expected a non-negative integer, got -1", id="negative-ttl"),
    pytest.param(with_("edge.deadline_ms", -100), "edge.deadline_ms: expected a positive",
                 id="negative-deadline"),
    pytest.param(with_("providers.0.breaker", {"failures": 0}),
                 "providers[0].breaker.failures: expected a positive", id="breaker-zero"),
    pytest.param(with_("providers.1.dpid", 0), "providers[1].dpid: expected a positive",
                 id="dpid-zero"),
    pytest.param(with_("traits.0.sid", -1), "traits[0].sid: expected a positive", id="sid-neg"),
    # URLs and addresses
    pytest.param(with_("edge.origin", "ftp://site.test"), "edge.origin: expected an http(s) URL",
                 id="url-scheme"),
    pytest.param(with_("edge.dcs", "127.0.0.1:8081"), "edge.dcs: expected an http(s) URL",
                 id="url-no-scheme"),
    pytest.param(with_("edge.dcs", "http://"), "edge.dcs: expected an http(s) URL",
                 id="url-no-host"),
    pytest.param(with_("edge.dcs", "http://127.0.0.1:abc"), "edge.dcs: expected an http(s) URL",
                 id="url-port-not-number"),
    pytest.param(with_("edge.dcs", "http://127.0.0.1:99999"),
                 "edge.dcs: expected an http(s) URL", id="url-port-out-of-range"),
    pytest.param(with_("providers.1.url", "acme.test/v1"), "providers[1].url: expected an http",
                 id="provider-url"),
    pytest.param(without("providers.0.url"), "providers[0].url: required", id="provider-no-url"),
    pytest.param(with_("providers.0.sync_url", "javascript:alert(1)"),
                 "providers[0].sync_url: expected an http(s) URL", id="sync-url"),
    pytest.param(with_("edge.listen", "8080"), "edge.listen: expected host:port",
                 id="address-no-host"),
    pytest.param(with_("dcs.listen", "127.0.0.1:70000"), "dcs.listen: expected host:port",
                 id="address-port-range"),
    pytest.param(with_("edge.routes.event", ["event"]), "edge.routes.event: paths start with '/'",
                 id="route-path"),
    # uniqueness
    pytest.param(with_("providers.1.name", "acme"), "providers[1].name: duplicate value 'acme'",
                 id="duplicate-provider-name"),
    pytest.param(with_("providers.1.dpid", 1001), "providers[1].dpid: duplicate value 1001",
                 id="duplicate-provider-dpid"),
    pytest.param(with_("traits.1.sid", 1), "traits[1].sid: duplicate value 1",
                 id="duplicate-trait-sid"),
    pytest.param(with_("segments.1.sid", 10), "segments[1].sid: duplicate value 10",
                 id="duplicate-segment-sid"),
    pytest.param(with_("destinations.1.id", 1), "destinations[1].id: duplicate value 1",
                 id="duplicate-destination-id"),
    # providers
    pytest.param(with_("providers.0.name", "ac me"), "providers[0].name: letters, digits",
                 id="provider-name-chars"),
    pytest.param(with_("providers.0.name", ""), "providers[0].name: letters, digits",
                 id="provider-name-empty"),
    pytest.param(without("providers.0.name"), "providers[0].name: required",
                 id="provider-no-name"),
    pytest.param(without("providers.0.dpid"), "providers[0].dpid: required",
                 id="provider-no-dpid"),
    pytest.param(with_("providers.0.adapter", {"method": "PUT", "url": "http://x.test/"}),
                 "providers[0].adapter.method: GET or POST", id="adapter-method"),
    pytest.param(with_("providers.0.adapter", {"headers": {"X": "y"}}),
                 "providers[0].adapter.url: required", id="adapter-url"),
    pytest.param(with_("providers.0.adapter", {"url": "http://x.test/", "headers": {"X": 1}}),
                 "providers[0].adapter.headers: values must be strings", id="adapter-headers"),
    # traits and segments
    pytest.param(with_("traits.0.kind", "magic"), "traits[0].kind: rule, onboarded or folder",
                 id="trait-kind"),
    pytest.param(without("traits.0.rule"), "traits[0].rule: required", id="trait-no-rule"),
    pytest.param(without("segments.0.rule"), "segments[0].rule: required", id="segment-no-rule"),
    pytest.param(without("data_sources.0.dpid"), "data_sources[0].dpid: required",
                 id="source-no-dpid"),
    # destinations
    pytest.param(with_("destinations.0.url", "http://dsp.test/p?s=1"),
                 "destinations[0].url: a URL destination needs %ALIAS%", id="url-dest-no-alias"),
    pytest.param(with_("destinations.1.domain", "shop.test"),
                 "destinations[1].domain: one domain starting with '.'", id="cookie-domain-dot"),
    pytest.param(with_("destinations.1.domain", ".*.shop.test"),
                 "destinations[1].domain: one domain starting with '.'",
                 id="cookie-domain-wildcard"),
    pytest.param(without("destinations.1.cookie_name"),
                 "destinations[1].cookie_name: required", id="cookie-dest-no-name"),
    pytest.param(with_("destinations.0.kind", "server"), "destinations[0].kind: url or cookie",
                 id="dest-kind"),
    pytest.param(with_("destinations.0.tag", "script"), "destinations[0].tag: img or iframe",
                 id="dest-tag"),
    pytest.param(with_("destinations.0.mappings", {"sports": "a"}),
                 "destinations[0].mappings: keys are segment ids", id="dest-mapping-key"),
    # secrets
    pytest.param(without("secret"), "secret: required", id="missing-secret"),
    pytest.param(with_("secret", ""), "secret: required", id="empty-secret"),
    pytest.param(with_("secret", "short"), "secret: must be at least 16 bytes",
                 id="short-secret"),
    pytest.param(with_("secret_env", "NOT_SET", without("secret")),
                 "secret_env: $NOT_SET is not set", id="secret-env-unset"),
    pytest.param(with_("providers.0.token_env", "NOT_SET"),
                 "providers[0].token_env: $NOT_SET is not set", id="token-env-unset"),
    pytest.param(with_("providers.0.secret", 12345678), "providers[0].secret: expected str",
                 id="provider-secret-type"),
]


@pytest.mark.parametrize(("doc", "message"), ERRORS)
def test_errors_name_the_key(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.from_dict(doc, env={})
    assert str(info.value).startswith(message)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


SECRETS = [
    pytest.param({"secret_env": "MY_SECRET"}, {"MY_SECRET": "s" * 20}, b"s" * 20, id="secret_env"),
    pytest.param({}, {"EDGE_SECRET": "e" * 16}, b"e" * 16, id="EDGE_SECRET"),
    pytest.param({"secret": SECRET}, {"EDGE_SECRET": "e" * 16}, SECRET.encode(),
                 id="file-beats-EDGE_SECRET"),
    pytest.param({"secret": SECRET, "secret_env": "MY_SECRET"}, {"MY_SECRET": "m" * 16},
                 b"m" * 16, id="secret_env-beats-file"),
    pytest.param({"secret": "é" * 8}, {}, "é".encode() * 8, id="utf8-bytes-count"),
]


@pytest.mark.parametrize(("keys", "env", "expected"), SECRETS)
def test_secret_sources(keys: dict[str, str], env: dict[str, str], expected: bytes) -> None:
    doc = without("secret")
    doc.update(keys)
    assert config.from_dict(doc, env=env).secret == expected


def test_short_secret_from_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="^secret: must be at least 16 bytes"):
        config.from_dict(without("secret"), env={"EDGE_SECRET": "short"})


def test_provider_secret_and_token_from_environment() -> None:
    doc = with_("providers.0.secret_env", "ACME_KEY")
    doc["providers"][0]["token_env"] = "ACME_TOKEN"
    cfg = config.from_dict(doc, env={"ACME_KEY": "k-e-y", "ACME_TOKEN": "t0k"})
    acme = cfg.provider("acme")
    assert acme is not None
    assert (acme.secret, acme.token) == (b"k-e-y", "t0k")
    birch = cfg.provider("birch")
    assert birch is not None and (birch.secret, birch.token) == (None, None)


def test_defaults_fill_what_the_file_leaves_out() -> None:
    cfg = config.from_dict({"secret": SECRET}, env={})
    assert cfg.edge == config.EdgeConfig()
    assert cfg.dcs == config.DcsConfig()
    assert cfg.providers == cfg.traits == cfg.destinations == ()


def test_provider_fields_and_defaults() -> None:
    doc = with_("providers.0.signals", ["c_page"])
    doc["providers"][0].update(
        timeout_ms=60, required=True, needs_dpuuid=True, tcf_vendor=9, tcf_purposes=[1, 3],
        ttl_s=0, breaker={"failures": 2}, sync_url="http://acme.test/sync?u=%DID%",
    )
    cfg = config.from_dict(doc, env={})
    acme, birch = cfg.providers
    assert acme.signals == ("c_page",) and birch.signals is None
    assert (acme.timeout_ms, acme.required, acme.needs_dpuuid) == (60, True, True)
    assert (acme.tcf_vendor, acme.tcf_purposes, acme.ttl_s) == (9, (1, 3), 0)
    assert acme.breaker == config.BreakerConfig(failures=2, window_s=30, open_s=10)
    assert acme.sync_url == "http://acme.test/sync?u=%DID%" and birch.sync_url is None
    assert birch.timeout_ms == 80 and birch.breaker == config.BreakerConfig()


def test_adapter_provider_needs_no_protocol_url() -> None:
    adapter = {"url": "http://api.test/u/{uuid}", "method": "post", "segments": "data[].code"}
    doc = without("providers.0.url")
    doc["providers"][0]["adapter"] = adapter
    acme = config.from_dict(doc, env={}).providers[0]
    assert acme.url == ""
    assert acme.adapter == config.AdapterConfig(
        method="POST", url="http://api.test/u/{uuid}", segments="data[].code"
    )


def test_folder_trait_needs_no_rule() -> None:
    doc = with_("traits.0", {"sid": 7, "kind": "folder", "folder": 3})
    trait = config.from_dict(doc, env={}).traits[0]
    assert (trait.kind, trait.rule, trait.folder) == ("folder", "", 3)


def test_config_is_frozen() -> None:
    cfg = config.from_dict(base(), env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.secret = b"x" * 16  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.providers[0].timeout_ms = 1  # type: ignore[misc]


def test_provider_lookup_by_name() -> None:
    cfg = config.from_dict(base(), env={})
    assert cfg.provider("birch") is cfg.providers[1]
    assert cfg.provider("nobody") is None


def test_demo_file_loads() -> None:
    cfg = config.load(DEMO, env={})
    assert cfg.source == str(DEMO)
    assert [p.name for p in cfg.providers] == ["acme", "birch", "cedar"]
    birch = cfg.provider("birch")
    assert birch is not None and birch.signals == ("c_page", "c_section")
    assert cfg.providers[0].sync_url is not None and "%DID%" in cfg.providers[0].sync_url
    assert {t.sid for t in cfg.traits} >= {1, 2, 3, 101, 201, 301}
    assert cfg.destinations[0].kind == "url" and cfg.destinations[0].mappings[5001] == "sports"
    assert cfg.destinations[1].kind == "cookie" and cfg.destinations[1].cookie_key == "segs"
    assert cfg.dcs.partner_hosts == ("127.0.0.1",)


def test_load_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="cannot read") as info:
        config.load(missing, env={})
    assert str(missing) in str(info.value)


def test_parse_rejects_invalid_toml() -> None:
    with pytest.raises(ConfigError, match="^cfg.toml: not valid TOML"):
        config.parse("secret = ", env={}, source="cfg.toml")


def test_parse_reads_toml_text(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(
        f'secret = "{SECRET}"\n[edge]\ndeadline_ms = 50\n'
        '[[providers]]\nname = "a"\ndpid = 1\nurl = "http://a.test/"\n',
        encoding="utf-8",
    )
    cfg = config.load(path, env={})
    assert (cfg.edge.deadline_ms, cfg.providers[0].name, cfg.source) == (50, "a", str(path))


def test_parse_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.SECRET_ENV, "from-the-environment")
    assert config.parse("", source="x").secret == b"from-the-environment"
