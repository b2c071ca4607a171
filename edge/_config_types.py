"""The deployment configuration's types: frozen dataclasses, built by edge.config.

Import them from ``edge.config``; this module only keeps that one under its size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from edge._tenants import normal_host
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
    retries: int = 0  # more tries after a network error or 502/503/504, within timeout_ms
    required: bool = False
    needs_dpuuid: bool = False
    signals: tuple[str, ...] | None = None  # allowed signal keys; None = all but p_
    tcf_vendor: int | None = None
    tcf_purposes: tuple[int, ...] = ()
    # asking this provider is a sale or sharing of personal data (US state privacy laws): not
    # asked for a visitor who opted out (us_privacy, Global Privacy Control)
    sale: bool = False
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
    shared_cache: str | None = None  # redis:// URL of the answer cache shared by edge processes
    shared_cache_timeout_ms: int = 20
    # Server-Timing on enriched answers: always, never, or token (only when the request's
    # X-Edge-Debug header holds server_timing_token)
    server_timing: str = "always"
    server_timing_token: bytes | None = None
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
