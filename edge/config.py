"""One deployment configuration (TOML), validated once into frozen objects and passed down.

``load(path)`` / ``parse(text)`` return a ``Config``; anything wrong raises ``ConfigError``
(a ``ValueError``) whose message names the offending key, e.g.
``providers[1].timeout_ms: expected a positive integer, got -5``. Only the CLI and the addons
read files and the environment; everything else receives a ``Config``.

The reference with every key is docs/config.md; edge/demo.toml is a commented example.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from edge._tenants import TenantSpec, normal_host, read_tenants
from edge._toml import ConfigError, Reader
from edge.rules.segments import SegmentDef
from edge.rules.traits import TraitDef

SECRET_ENV = "EDGE_SECRET"


@dataclass(frozen=True)
class BreakerConfig:
    failures: int = 5  # failures within window_s that open the breaker
    window_s: int = 30
    open_s: int = 10  # how long it stays open before a half-open probe


@dataclass(frozen=True)
class AdapterConfig:
    """The configurable HTTP adapter for providers that do not speak protocol v1."""

    method: str = "GET"
    url: str = ""  # template: {uuid} {dpuuid} {dpid} {signal:c_page}
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None  # JSON body template, filled the same way
    segments: str = "segments"  # JMESPath selecting a list of ids or of {id,status} objects
    status: str | None = None  # optional JMESPath, relative to each item, for its status


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    dpid: int
    url: str
    timeout_ms: int = 80
    required: bool = False
    needs_dpuuid: bool = False
    signals: tuple[str, ...] | None = None  # allowed signal keys; None = all but p_
    tcf_vendor: int | None = None
    tcf_purposes: tuple[int, ...] = ()
    secret: bytes | None = None  # HMAC key for X-Signature
    token: str | None = None  # Authorization: Bearer
    ttl_s: int = 300
    negative_ttl_s: int = 60
    error_ttl_s: int = 5
    stale_if_error_s: int = 600
    max_segments: int = 1000
    max_body_bytes: int = 256 * 1024
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    adapter: AdapterConfig | None = None
    sync_url: str | None = None  # partner ID-sync URL fired by the iframe (%DID% = uuid)


@dataclass(frozen=True)
class Routes:
    """Which paths of the public listener go where; everything else goes to the origin."""

    event: tuple[str, ...] = ("/event",)
    iframe: tuple[str, ...] = ("/dest5.html",)
    tag: tuple[str, ...] = ("/tag.js",)
    # prefixes forwarded to the DCS (event, iframe and tag included)
    dcs: tuple[str, ...] = ("/event", "/ibs", "/dest5.html", "/demoptout", "/id", "/tag.js")


@dataclass(frozen=True)
class EdgeConfig:
    listen: str = "127.0.0.1:8080"
    origin: str = "http://127.0.0.1:8090"
    dcs: str = "http://127.0.0.1:8081"
    admin: str = "127.0.0.1:8089"
    deadline_ms: int = 100
    cache_entries: int = 100_000
    body_size_limit: str = "64k"
    dpuuid_cache_s: int = 300
    routes: Routes = field(default_factory=Routes)
    certs: tuple[str, ...] = ()  # mitmproxy --certs specs: [domain=]path.pem


@dataclass(frozen=True)
class DataSource:
    dpid: int
    name: str = ""
    ic: str | None = None  # integration code (d_tdpid_ic)


@dataclass(frozen=True)
class Destination:
    id: int
    kind: Literal["url", "cookie"]
    name: str = ""
    mappings: Mapping[int, str] = field(default_factory=dict)  # segment sid -> alias
    url: str = ""  # url kind: must contain %ALIAS%
    secure_url: str = ""
    tag: Literal["img", "iframe"] = "img"
    hide_referrer: bool = True
    serialize: bool = False
    delimiter: str = ","
    cookie_name: str = ""  # cookie kind
    cookie_key: str | None = None  # single-key format: key=alias1,alias2
    domain: str | None = None  # ".example.com"; None = the requesting domain
    ttl_days: int = 30


@dataclass(frozen=True)
class DcsConfig:
    listen: str = "127.0.0.1:8081"
    store: str = "sqlite:///var/profiles.db"
    region: int = 7
    case_sensitive: bool = False
    allowed_origins: tuple[str, ...] = ()
    partner_hosts: tuple[str, ...] = ()  # hosts allowed in /ibs redir and d_rd
    cookie_name: str = "demdex"
    cookie_days: int = 180
    tcf_purposes: tuple[int, ...] = (1, 10)
    tcf_vendor: int = 565
    envelope_window_s: int = 30
    id_sync_ttl_s: int = 604800


@dataclass(frozen=True)
class Config:
    secret: bytes
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    dcs: DcsConfig = field(default_factory=DcsConfig)
    providers: tuple[ProviderConfig, ...] = ()
    data_sources: tuple[DataSource, ...] = ()
    traits: tuple[TraitDef, ...] = ()
    segments: tuple[SegmentDef, ...] = ()
    destinations: tuple[Destination, ...] = ()
    source: str = "<memory>"
    tenants: tuple[Tenant, ...] = ()  # [[tenants]]; empty: this config is the only tenant
    tenant: str = ""  # the tenant this config belongs to ("" for the top level)

    def provider(self, name: str) -> ProviderConfig | None:
        return next((p for p in self.providers if p.name == name), None)

    def all_tenants(self) -> tuple[Tenant, ...]:
        """The tenants, or one tenant (no name, no hosts, no orgid) made of this config."""
        return self.tenants or (Tenant("", (), None, self),)

    def tenant_for(self, host: str) -> Tenant | None:
        """The tenant serving `host` (port ignored); without tenants, the only one."""
        if not self.tenants:
            return self.all_tenants()[0]
        name = normal_host(host)
        return next((t for t in self.tenants if name in t.hosts), None)


@dataclass(frozen=True)
class Tenant:
    """One customer of the deployment: its host names, its org id, its own config."""

    name: str
    hosts: tuple[str, ...]
    orgid: str | None
    config: Config


# -- reading -------------------------------------------------------------------------------

__all__ = ["ConfigError", "Config", "Tenant", "load", "parse", "from_dict"]


def load(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from None
    return parse(text, env=env, source=str(p), base_dir=p.parent)


def parse(
    text: str, *, env: Mapping[str, str] | None = None, source: str = "<memory>",
    base_dir: Path | None = None,
) -> Config:
    """`base_dir` is where tenant config paths are relative to (default: the working folder)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    return from_dict(doc, env=os.environ if env is None else env, source=source,
                     base_dir=base_dir)


_TOP = frozenset(
    {"secret", "secret_env", "edge", "dcs", "providers", "data_sources", "traits", "segments",
     "destinations", "tenants"}
)
_CONTENT = ("providers", "data_sources", "traits", "segments", "destinations")


def from_dict(
    doc: Mapping[str, Any], *, env: Mapping[str, str], source: str = "<memory>",
    base_dir: Path | None = None,
) -> Config:
    r = Reader(dict(doc), "", _TOP)
    secret = r.secret("secret", env) or (env[SECRET_ENV].encode() if env.get(SECRET_ENV) else None)
    if not secret:
        raise ConfigError(f"secret: required (or secret_env, or ${SECRET_ENV})")
    if len(secret) < 16:
        raise ConfigError("secret: must be at least 16 bytes")
    dcs_doc = r.get("dcs", dict, {})
    top = Config(secret=secret, edge=_edge(r.get("edge", dict, {})), dcs=_dcs(dcs_doc),
                 source=source, **_content(r, env))
    specs = read_tenants(r.get("tenants", list, []), base_dir or Path.cwd())
    if not specs:
        return top
    given = [k for k in _CONTENT if doc.get(k)]
    if given:
        raise ConfigError(f"{given[0]}: with [[tenants]], each tenant's file holds its {given[0]}")
    tenants = tuple(_tenant(top, spec, dcs_doc, env) for spec in specs)
    return replace(top, tenants=tenants)


def _tenant(top: Config, spec: TenantSpec, dcs_doc: dict[str, Any],
            env: Mapping[str, str]) -> Tenant:
    try:
        r = Reader(spec.doc, "", frozenset(spec.doc))
        own = replace(top, dcs=_dcs({**dcs_doc, **spec.doc.get("dcs", {})}), tenant=spec.name,
                      source=str(spec.path), **_content(r, env))
    except ConfigError as e:
        raise ConfigError(f"{spec.path}: {e}") from None
    return Tenant(spec.name, spec.hosts, spec.orgid, own)


def _content(r: Reader, env: Mapping[str, str]) -> dict[str, Any]:
    """The customer content of a config table: providers, data sources, rules, destinations."""
    providers = tuple(
        _provider(t, f"providers[{i}]", env) for i, t in enumerate(r.get("providers", list, []))
    )
    _unique([p.name for p in providers], "providers", "name")
    _unique([p.dpid for p in providers], "providers", "dpid")
    traits = tuple(_trait(t, f"traits[{i}]") for i, t in enumerate(r.get("traits", list, [])))
    _unique([t.sid for t in traits], "traits", "sid")
    segments = tuple(
        _segment(t, f"segments[{i}]") for i, t in enumerate(r.get("segments", list, []))
    )
    _unique([s.sid for s in segments], "segments", "sid")
    sources = tuple(
        _source(t, f"data_sources[{i}]") for i, t in enumerate(r.get("data_sources", list, []))
    )
    dests = tuple(
        _destination(t, f"destinations[{i}]")
        for i, t in enumerate(r.get("destinations", list, []))
    )
    _unique([d.id for d in dests], "destinations", "id")
    return {"providers": providers, "data_sources": sources, "traits": traits,
            "segments": segments, "destinations": dests}


def _unique(values: list[Any], table: str, key: str) -> None:
    seen: set[Any] = set()
    for i, v in enumerate(values):
        if v in seen:
            raise ConfigError(f"{table}[{i}].{key}: duplicate value {v!r}")
        seen.add(v)


def _edge(t: Any) -> EdgeConfig:
    r = Reader(t, "edge", frozenset(
        {"listen", "origin", "dcs", "admin", "deadline_ms", "cache_entries", "body_size_limit",
         "dpuuid_cache_s", "routes", "certs"}))
    d = EdgeConfig()
    route_keys = frozenset({"event", "iframe", "tag", "dcs"})
    rr = Reader(r.get("routes", dict, {}), "edge.routes", route_keys)
    routes = Routes(
        **{k: _paths(rr, k, getattr(Routes(), k)) for k in ("event", "iframe", "tag", "dcs")}
    )
    return EdgeConfig(
        listen=r.address("listen", d.listen),
        origin=r.url("origin", d.origin),
        dcs=r.url("dcs", d.dcs),
        admin=r.address("admin", d.admin),
        deadline_ms=r.positive("deadline_ms", d.deadline_ms),
        cache_entries=r.positive("cache_entries", d.cache_entries),
        body_size_limit=r.get("body_size_limit", str, d.body_size_limit),
        dpuuid_cache_s=r.positive("dpuuid_cache_s", d.dpuuid_cache_s, zero=True),
        routes=routes,
        certs=r.strings("certs", ()) or (),
    )


def _paths(r: Reader, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    paths = r.strings(key, default) or ()
    for p in paths:
        if not p.startswith("/"):
            raise ConfigError(f"{r.key(key)}: paths start with '/', got {p!r}")
    return paths


def _dcs(t: Any) -> DcsConfig:
    r = Reader(t, "dcs", frozenset(
        {"listen", "store", "region", "case_sensitive", "allowed_origins", "partner_hosts",
         "cookie_name", "cookie_days", "tcf_purposes", "tcf_vendor", "envelope_window_s",
         "id_sync_ttl_s"}))
    d = DcsConfig()
    return DcsConfig(
        listen=r.address("listen", d.listen),
        store=r.get("store", str, d.store),
        region=r.positive("region", d.region),
        case_sensitive=r.get("case_sensitive", bool, d.case_sensitive),
        allowed_origins=r.strings("allowed_origins", ()) or (),
        partner_hosts=r.strings("partner_hosts", ()) or (),
        cookie_name=r.get("cookie_name", str, d.cookie_name),
        cookie_days=r.positive("cookie_days", d.cookie_days),
        tcf_purposes=r.ints("tcf_purposes", d.tcf_purposes),
        tcf_vendor=r.positive("tcf_vendor", d.tcf_vendor),
        envelope_window_s=r.positive("envelope_window_s", d.envelope_window_s),
        id_sync_ttl_s=r.positive("id_sync_ttl_s", d.id_sync_ttl_s),
    )


_PROVIDER_KEYS = frozenset(
    {"name", "dpid", "url", "timeout_ms", "required", "needs_dpuuid", "signals", "tcf_vendor",
     "tcf_purposes", "secret", "secret_env", "token", "token_env", "ttl_s", "negative_ttl_s",
     "error_ttl_s", "stale_if_error_s", "max_segments", "max_body_bytes", "breaker", "adapter",
     "sync_url"}
)


def _provider(t: Any, path: str, env: Mapping[str, str]) -> ProviderConfig:
    r = Reader(t, path, _PROVIDER_KEYS)
    d = ProviderConfig(name="", dpid=0, url="")
    name: str = r.get("name", str, required=True)
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{path}.name: letters, digits, '-' and '_' only, got {name!r}")
    token = r.secret("token", env)
    adapter = r.get("adapter", dict, None)
    b = Reader(r.get("breaker", dict, {}), f"{path}.breaker",
               frozenset({"failures", "window_s", "open_s"}))
    return ProviderConfig(
        name=name,
        dpid=r.positive("dpid", 0) if "dpid" in t else r.get("dpid", int, required=True),
        url=r.url("url", required=adapter is None),
        timeout_ms=r.positive("timeout_ms", d.timeout_ms),
        required=r.get("required", bool, False),
        needs_dpuuid=r.get("needs_dpuuid", bool, False),
        signals=r.strings("signals", None),
        tcf_vendor=r.get("tcf_vendor", int, None),
        tcf_purposes=r.ints("tcf_purposes", ()),
        secret=r.secret("secret", env),
        token=token.decode() if token else None,
        ttl_s=r.positive("ttl_s", d.ttl_s, zero=True),
        negative_ttl_s=r.positive("negative_ttl_s", d.negative_ttl_s, zero=True),
        error_ttl_s=r.positive("error_ttl_s", d.error_ttl_s, zero=True),
        stale_if_error_s=r.positive("stale_if_error_s", d.stale_if_error_s, zero=True),
        max_segments=r.positive("max_segments", d.max_segments),
        max_body_bytes=r.positive("max_body_bytes", d.max_body_bytes),
        breaker=BreakerConfig(
            failures=b.positive("failures", 5), window_s=b.positive("window_s", 30),
            open_s=b.positive("open_s", 10),
        ),
        adapter=_adapter(adapter, f"{path}.adapter") if adapter is not None else None,
        sync_url=r.url("sync_url", None) or None,
    )


def _adapter(t: Any, path: str) -> AdapterConfig:
    r = Reader(t, path, frozenset({"method", "url", "headers", "body", "segments", "status"}))
    method = r.get("method", str, "GET").upper()
    if method not in ("GET", "POST"):
        raise ConfigError(f"{path}.method: GET or POST, got {method!r}")
    headers = r.get("headers", dict, {})
    if not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"{path}.headers: values must be strings")
    return AdapterConfig(
        method=method,
        url=r.get("url", str, required=True),
        headers=dict(headers),
        body=r.get("body", str, None),
        segments=r.get("segments", str, "segments"),
        status=r.get("status", str, None),
    )


def _trait(t: Any, path: str) -> TraitDef:
    r = Reader(t, path, frozenset({"sid", "rule", "name", "kind", "dpid", "ttl_days", "folder"}))
    kind = r.get("kind", str, "rule")
    if kind not in ("rule", "onboarded", "folder"):
        raise ConfigError(f"{path}.kind: rule, onboarded or folder, got {kind!r}")
    return TraitDef(
        sid=r.positive("sid", 0) if "sid" in t else r.get("sid", int, required=True),
        rule=r.get("rule", str, "" if kind == "folder" else None, required=kind != "folder"),
        name=r.get("name", str, ""),
        kind=kind,
        dpid=r.get("dpid", int, None),
        ttl_days=r.positive("ttl_days", 120, zero=True),
        folder=r.get("folder", int, None),
    )


def _segment(t: Any, path: str) -> SegmentDef:
    r = Reader(t, path, frozenset({"sid", "rule", "name"}))
    return SegmentDef(
        sid=r.positive("sid", 0) if "sid" in t else r.get("sid", int, required=True),
        rule=r.get("rule", str, required=True),
        name=r.get("name", str, ""),
    )


def _source(t: Any, path: str) -> DataSource:
    r = Reader(t, path, frozenset({"dpid", "name", "ic"}))
    return DataSource(dpid=r.get("dpid", int, required=True), name=r.get("name", str, ""),
                      ic=r.get("ic", str, None))


_DEST_KEYS = frozenset(
    {"id", "kind", "name", "mappings", "url", "secure_url", "tag", "hide_referrer", "serialize",
     "delimiter", "cookie_name", "cookie_key", "domain", "ttl_days"}
)


def _destination(t: Any, path: str) -> Destination:
    r = Reader(t, path, _DEST_KEYS)
    kind = r.get("kind", str, required=True)
    if kind not in ("url", "cookie"):
        raise ConfigError(f"{path}.kind: url or cookie, got {kind!r}")
    raw = r.get("mappings", dict, {})
    try:
        mappings = {int(k): str(v) for k, v in raw.items()}
    except ValueError:
        raise ConfigError(f"{path}.mappings: keys are segment ids") from None
    url = r.get("url", str, "")
    if kind == "url" and "%alias%" not in url.lower():
        raise ConfigError(f"{path}.url: a URL destination needs %ALIAS% in its url")
    cookie_name = r.get("cookie_name", str, "")
    if kind == "cookie" and not cookie_name:
        raise ConfigError(f"{path}.cookie_name: required for a cookie destination")
    domain = r.get("domain", str, None)
    if domain is not None and (not domain.startswith(".") or "*" in domain):
        raise ConfigError(f"{path}.domain: one domain starting with '.', no wildcards")
    tag = r.get("tag", str, "img")
    if tag not in ("img", "iframe"):
        raise ConfigError(f"{path}.tag: img or iframe, got {tag!r}")
    return Destination(
        id=r.get("id", int, required=True), kind=kind, name=r.get("name", str, ""),
        mappings=mappings, url=url, secure_url=r.get("secure_url", str, ""), tag=tag,
        hide_referrer=r.get("hide_referrer", bool, True), serialize=r.get("serialize", bool, False),
        delimiter=r.get("delimiter", str, ","), cookie_name=cookie_name,
        cookie_key=r.get("cookie_key", str, None), domain=domain,
        ttl_days=r.positive("ttl_days", 30),
    )
