"""Reading the tables of a deployment config into its types (edge.config does the whole).

Every function raises ``ConfigError`` naming the offending key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge import redis_url
from edge._config_types import (
    AdapterConfig,
    BreakerConfig,
    DataSource,
    DcsConfig,
    Destination,
    EdgeConfig,
    ProviderConfig,
    Routes,
)
from edge._toml import ConfigError, Reader
from edge.rules.segments import SegmentDef
from edge.rules.traits import TraitDef


def content(r: Reader, env: Mapping[str, str]) -> dict[str, Any]:
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


def edge_table(t: Any, env: Mapping[str, str] | None = None) -> EdgeConfig:
    r = Reader(t, "edge", frozenset(
        {"listen", "origin", "dcs", "admin", "deadline_ms", "cache_entries", "body_size_limit",
         "dpuuid_cache_s", "routes", "certs", "shared_cache", "shared_cache_timeout_ms",
         "server_timing", "server_timing_token", "server_timing_token_env"}))
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
        shared_cache=_shared_cache(r),
        shared_cache_timeout_ms=r.positive("shared_cache_timeout_ms", d.shared_cache_timeout_ms),
        **_server_timing(r, env or {}),
    )


def _server_timing(r: Reader, env: Mapping[str, str]) -> dict[str, Any]:
    mode = r.get("server_timing", str, "always")
    if mode not in ("always", "never", "token"):
        raise ConfigError(f"{r.key('server_timing')}: one of always, never, token; got {mode!r}")
    token = r.secret("server_timing_token", env)
    if mode == "token" and not token:
        raise ConfigError(f"{r.key('server_timing_token')}: required when server_timing is "
                          "token")
    return {"server_timing": mode, "server_timing_token": token}


def _shared_cache(r: Reader) -> str | None:
    url: str | None = r.get("shared_cache", str, None)
    if url is None:
        return None
    try:
        redis_url.split(url, "")
    except ValueError as e:
        raise ConfigError(f"{r.key('shared_cache')}: {e}") from None
    return url


def _paths(r: Reader, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    paths = r.strings(key, default) or ()
    for p in paths:
        if not p.startswith("/"):
            raise ConfigError(f"{r.key(key)}: paths start with '/', got {p!r}")
    return paths


def dcs_table(t: Any) -> DcsConfig:
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
     "sync_url", "retries", "sale"}
)


def _retries(r: Reader) -> int:
    n = r.positive("retries", 0, zero=True)
    if n > 3:
        raise ConfigError(f"{r.key('retries')}: at most 3 (each try must fit in timeout_ms)")
    return n


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
        retries=_retries(r),
        required=r.get("required", bool, False),
        needs_dpuuid=r.get("needs_dpuuid", bool, False),
        signals=r.strings("signals", None),
        tcf_vendor=r.get("tcf_vendor", int, None),
        tcf_purposes=r.ints("tcf_purposes", ()),
        sale=r.get("sale", bool, False),
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
