"""The edge addon: route, identify, enrich under a deadline, sign, forward.

Hooks (all cheap guards; the decisions live in edge/):
- ``requestheaders``: classify the path; pick the tenant by host (one Enricher per tenant,
  ``Config.tenant_for``); refuse the internal surface; point DCS paths at the
  DCS (the original Host kept, X-Forwarded-* added, any client copy of the edge's headers
  stripped); start provider lookups early for iframe hits and GET event hits.
- ``request`` (async): for event hits, identify the visitor, run the fan-out, attach the signed
  envelope; if the DCS is known to be down, answer the visitor at once (fail-open).
- ``response``: ``Server-Timing`` per provider, the structured log line, marks for debugging.
- ``server_connect_error``: failing to connect to the DCS marks it down until the health
  probe sees it again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
from mitmproxy import ctx, exceptions, http
from mitmproxy.net.http import url
from mitmproxy.proxy import server_hooks
from prometheus_client import CollectorRegistry

from addons import dcs_health, hitlog
from edge import config as edge_config
from edge import routing, visitor
from edge.contracts import envelope, ids
from edge.enrich.fanout import Enricher, Hit, Outcome
from edge.enrich.identity import Visitor
from edge.enrich.metrics import EdgeMetrics, Exposition

log = logging.getLogger("edge.proxy")

META = "edge"  # flow.metadata key holding the enrichment trace (plain data)


class EdgeAddon:
    def __init__(
        self,
        client_factory: Callable[[edge_config.Config], httpx.AsyncClient] | None = None,
        *,
        marks: bool = True,
    ) -> None:
        # A seam for test tooling: the provider client of each new Enricher (the chaos addon
        # wraps its transport). None: the Enricher makes and owns its own.
        self.client_factory = client_factory
        # Marks and comments are for the flow list of mitmweb and the console; the lean runner,
        # which has no flow list, skips them (they cost on every hit).
        self.marks = marks
        self.config: edge_config.Config | None = None
        self.enricher: Enricher | None = None  # the first tenant's (the only one without tenants)
        self.enrichers: dict[str, Enricher] = {}  # by tenant name
        self.health: dcs_health.DcsHealth | None = None
        self._dcs: tuple[str, str, int] = ("http", "127.0.0.1", 80)
        self._early: dict[str, asyncio.Task[Any]] = {}
        self._clients: dict[str, httpx.AsyncClient] = {}  # made by client_factory, by tenant
        self.hit_log: hitlog.HitLog | None = None  # None: through the logger (or off)
        self.hit_log_off = False
        self._flusher: asyncio.Task[None] | None = None
        self._running = False  # the running hook has run: background tasks may start
        self.metrics = EdgeMetrics(lambda: self.health.up if self.health is not None else None)

    # -- options -------------------------------------------------------------------------

    def load(self, loader: Any) -> None:
        loader.add_option("edge_config", str | None, None, "The deployment config file (TOML).")
        loader.add_option(
            "edge_admin", bool, True, "Serve Prometheus metrics on the config's edge.admin."
        )
        loader.add_option(
            "edge_hit_log", str, "logger",
            "Where the JSON line of each enriched hit goes: 'logger' (the logging logger "
            "edge.hits), 'stdout' (JSON lines written in batches: the cheapest) or 'off'.",
            choices=["logger", "stdout", "off"],
        )

    def configure(self, updated: set[str]) -> None:
        if "edge_hit_log" in updated:
            mode = ctx.options.edge_hit_log
            self.hit_log = hitlog.HitLog(sys.stdout) if mode == "stdout" else None
            self.hit_log_off = mode == "off"
        if "edge_config" not in updated:
            return
        path = ctx.options.edge_config
        if not path:
            self.config = None
            return
        try:
            self._install(edge_config.load(path))
        except ValueError as e:  # ConfigError, or a provider adapter template that won't compile
            raise exceptions.OptionsError(f"edge_config: {e}") from None

    def _install(self, cfg: edge_config.Config) -> None:
        from urllib.parse import urlsplit

        old, old_clients = self.enrichers, self._clients
        factory = self.client_factory
        self._clients = (
            {t.name: factory(t.config) for t in cfg.all_tenants()} if factory is not None else {}
        )
        self.enrichers = {
            t.name: Enricher(t.config, client=self._clients.get(t.name), previous=old.get(t.name))
            for t in cfg.all_tenants()
        }
        self.enricher = next(iter(self.enrichers.values()))
        self.config = cfg
        dcs = urlsplit(cfg.edge.dcs)
        port = dcs.port or (443 if dcs.scheme == "https" else 80)
        self._dcs = (dcs.scheme, dcs.hostname or "127.0.0.1", port)
        if self.health is None or self.health.dcs != cfg.edge.dcs:
            if self.health is not None:
                self.health.stop()
            self.health = dcs_health.DcsHealth(cfg.edge.dcs)
            if self._running:
                self.health.start()
        kept = [id(c) for c in self._clients.values()]  # a factory may hand out one client
        for name, enricher in old.items():
            # hits in flight finish on the enricher they started with
            client = old_clients.get(name)
            done = client if client is not None and id(client) not in kept else None
            _spawn(_retire(enricher, done, wait=self._running))

    def reload(self) -> str:
        """Read the config file again and switch to it. New hits use the new config; hits in
        flight finish on the old one. Cached answers, metrics and the provider client carry
        over (and, for providers that keep their name, breaker, stats and disabled state).
        ``ValueError`` (with the reason) when the file is no longer valid: the running
        config stays."""
        path = ctx.options.edge_config
        if not path:
            raise ValueError("no edge_config to reload")
        cfg = edge_config.load(path)  # ConfigError (a ValueError) leaves everything as it was
        self._install(cfg)
        providers = sum(len(t.config.providers) for t in cfg.all_tenants())
        tenants = "tenants " + ", ".join(t.name for t in cfg.tenants) if cfg.tenants else (
            "no tenants")
        return f"reloaded {path}: {providers} providers, {tenants}"

    def running(self) -> None:
        self._running = True
        if self.config is None:
            return
        if self.health is not None:
            self.health.start()
        for enricher in self.enrichers.values():
            _spawn(_warm(enricher, enricher.config))
        if ctx.options.edge_admin and self.enricher is not None:
            hitlog.serve_metrics(self.config.edge.admin, self.exposition())
        if self.hit_log is not None and self._flusher is None:
            self._flusher = _spawn(_flush_every(self))

    def done(self) -> None:
        self._running = False
        if self.health is not None:
            self.health.stop()
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        if self.hit_log is not None:
            self.hit_log.flush()

    def exposition(self) -> CollectorRegistry:
        """What the admin port serves: the edge's metrics and every tenant's (a ``tenant``
        label on the latter when the config has tenants), read at scrape time, so a config
        reload is reflected."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Exposition(
            self.metrics.registry,
            lambda: [(name, e.registry) for name, e in self.enrichers.items()],
            lambda: bool(self.config is not None and self.config.tenants),
        ))
        return registry

    # -- hooks ---------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        cfg = self.config
        if cfg is None or flow.response is not None:
            return
        req = flow.request
        route = routing.classify(req.path, cfg.edge.routes)
        flow.metadata["edge_route"] = route
        self.metrics.requests.inc(route)
        tenant = cfg.tenant_for(req.host_header or req.host)
        flow.metadata["edge_tenant"] = tenant.name if tenant is not None else None
        debug = _rewrite_headers(flow, strip_edge=route != "origin")
        if route == "origin":
            return
        if debug is not None:
            flow.metadata["edge_debug"] = debug
        if route == "internal":
            flow.response = http.Response.make(404, b"not found", {"content-type": "text/plain"})
            return
        _to_dcs(req, self._dcs)
        if route == "iframe":
            # The iframe loads before the tag's /event hit: start the lookups now so the hit
            # finds them cached or in flight.
            self._start_early(flow)
        elif route == "event" and req.method == "POST":
            # The signals are in the body, still on its way: only the identity lookup can start.
            self._start_identity(flow)

    async def request(self, flow: http.HTTPFlow) -> None:
        cfg, enricher = self.config, self._enricher_for(flow)
        if cfg is None or enricher is None or flow.response is not None:
            return
        if flow.metadata.get("edge_route") not in ("event", "iframe", "tag", "dcs"):
            return
        if self.health is not None and not self.health.up:
            flow.response = _fail_open(flow, cfg)
            self.metrics.fail_open.inc(flow.metadata["edge_route"])
            flow.metadata[META] = {"degraded": "dcs_down"}
            flow.marked = ":no_entry:"
            flow.comment = "DCS down: answered by the edge (fail-open)"
            return
        if flow.metadata.get("edge_route") != "event":
            return
        info = self._hit_info(flow, enricher.config)
        started = time.perf_counter()
        uuid, known = await self._identify(info, enricher)
        outcome = await enricher.enrich(_hit(uuid, info, known))
        env = envelope.Envelope(uuid=uuid, providers=outcome.results,
                                deadline_ms=outcome.deadline_ms)
        # Any client copy was stripped in requestheaders: append, no search of the headers.
        req = flow.request
        req.headers.fields += ((_HEADER, envelope.sign(env, cfg.secret).encode("ascii")),)
        providers = [p.json for p in outcome.results]  # shared, read-only
        flow.metadata[META] = _trace(info, uuid, outcome, providers, time.perf_counter() - started)
        if self.marks:
            hitlog.mark(flow, flow.metadata[META])

    def response(self, flow: http.HTTPFlow) -> None:
        trace = flow.metadata.get(META)
        if not trace or flow.response is None or "providers" not in trace:
            return
        if self._timing_shown(flow):
            flow.response.headers["Server-Timing"] = hitlog.server_timing(trace)
        hitlog.record_answer(trace, flow.response)
        if self.hit_log is not None:
            self.hit_log.write(trace)
        elif not self.hit_log_off:
            hitlog.emit(trace)

    def _timing_shown(self, flow: http.HTTPFlow) -> bool:
        """Whether this answer carries Server-Timing (``edge.server_timing``)."""
        edge = self.config.edge if self.config is not None else None
        if edge is None or edge.server_timing == "always":
            return True
        sent = flow.metadata.get("edge_debug")
        token = edge.server_timing_token
        return (edge.server_timing == "token" and token is not None and sent is not None
                and hmac.compare_digest(sent, token))

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        """The edge could not connect to the DCS: answer visitors itself until it is back."""
        if self.health is not None and data.server.address == self._dcs[1:]:
            self.health.mark_down(data.server.error or "connect failed")

    # -- helpers -------------------------------------------------------------------------

    def _hit_info(self, flow: http.HTTPFlow, cfg: edge_config.Config) -> visitor.HitInfo:
        req = flow.request
        pairs = visitor.query_pairs(req.path)
        if req.method == "POST" and req.raw_content:
            # The DCS reads a POST body as a form whatever its content type; so does the edge.
            pairs += parse_qsl(req.raw_content.decode("utf-8", "replace"), keep_blank_values=True)
        name = cfg.dcs.cookie_name
        value = visitor.cookie_value(req.headers.get("cookie"), name)
        info = visitor.read_hit(pairs, {name: value} if value else {}, cookie_name=name)
        if not info.sale_opt_out and req.headers.get("sec-gpc", "").strip() == "1":
            # Global Privacy Control: the browser's opt-out of sale and sharing
            info = dataclasses.replace(info, sale_opt_out=True)
        return info

    def _enricher_for(self, flow: http.HTTPFlow) -> Enricher | None:
        """The Enricher of the flow's tenant (None for a host no tenant serves)."""
        return self.enrichers.get(flow.metadata.get("edge_tenant") or "")

    async def _identify(
        self, info: visitor.HitInfo, enricher: Enricher
    ) -> tuple[str, Visitor | None]:
        """The visitor id (a new one for a new visitor) and what the DCS knows of it."""
        if info.uuid is None and info.mid is None:
            return ids.new_uuid(), None
        known = await enricher.identify(uuid=info.uuid, mid=info.mid)
        uuid = info.uuid or (known.uuid if known is not None else None) or ids.new_uuid()
        return uuid, known

    def _start_identity(self, flow: http.HTTPFlow) -> None:
        enricher = self._enricher_for(flow)
        if enricher is None:
            return
        info = self._hit_info(flow, enricher.config)
        if info.uuid is not None or info.mid is not None:
            _spawn(enricher.identify(uuid=info.uuid, mid=info.mid))

    def _start_early(self, flow: http.HTTPFlow) -> None:
        enricher = self._enricher_for(flow)
        if enricher is None:
            return
        info = self._hit_info(flow, enricher.config)
        if info.uuid is None or info.uuid in self._early:
            return

        async def early() -> None:
            try:
                uuid, known = await self._identify(info, enricher)
                enricher.prefetch(_hit(uuid, info, known))
            finally:
                self._early.pop(info.uuid or "", None)

        self._early[info.uuid] = _spawn(early())


async def _warm(enricher: Enricher, cfg: edge_config.Config) -> None:
    """Open the shared client and one keep-alive connection per provider and to the DCS before
    the first visitor arrives (client set-up and first connects cost more than a deadline)."""
    client = enricher.http
    urls = [p.url for p in cfg.providers if p.url] + [cfg.edge.dcs.rstrip("/") + "/healthz"]

    async def touch(url: str) -> None:
        try:
            await client.get(url, timeout=1.0)
        except Exception as e:  # noqa: BLE001 - warming is best effort
            log.info("warm-up of %s: %s", url, e)

    await asyncio.gather(*(touch(u) for u in urls))


async def _retire(enricher: Enricher, client: httpx.AsyncClient | None, *, wait: bool) -> None:
    """Close an Enricher a reload replaced (after its calls in flight, when running) and the
    client a client_factory made for it."""
    await (enricher.retire() if wait else enricher.aclose())
    if client is not None:
        await client.aclose()


async def _flush_every(addon: EdgeAddon) -> None:
    while True:
        await asyncio.sleep(hitlog.HitLog.FLUSH_S)
        if addon.hit_log is not None:
            addon.hit_log.flush()


def _hit(uuid: str, info: visitor.HitInfo, known: Visitor | None) -> Hit:
    return Hit(
        uuid=uuid,
        signals=info.signals,
        gdpr=info.gdpr,
        gdpr_consent=info.gdpr_consent,
        coppa=info.coppa,
        opted_out=info.opted_out or (known.opted_out if known is not None else False),
        partner_ids=dict(known.partner_ids) if known is not None else {},
        sale_opt_out=info.sale_opt_out,
    )


def _spawn(coro: Any) -> asyncio.Task[Any]:
    task = asyncio.get_running_loop().create_task(coro)
    task.add_done_callback(_log_task_error)
    return task


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background task failed: %r", task.exception())


_HEADER = envelope.HEADER.encode()
_EDGE_HEADERS = frozenset(h.lower().encode() for h in envelope.EDGE_HEADERS)
_CLIENT_FORWARDED = frozenset({b"x-forwarded-proto", b"x-forwarded-host"})


def _rewrite_headers(flow: http.HTTPFlow, *, strip_edge: bool) -> bytes | None:
    """One pass over the request headers (this runs for every request): the edge's own
    X-Forwarded-Proto/Host replace any the client sent, the client's address is appended to
    X-Forwarded-For, and towards the DCS any client copy of the edge's headers is dropped
    (a client's envelope is never trusted), as is X-Edge-Debug, whose value is returned."""
    req = flow.request
    host = req.host_header
    prior: list[bytes] = []
    kept: list[tuple[bytes, bytes]] = []
    debug: bytes | None = None
    for k, v in req.headers.fields:
        low = k.lower()
        if low == b"x-forwarded-for":
            prior.append(v)
        elif strip_edge and low == b"x-edge-debug":
            debug = v
        elif low not in _CLIENT_FORWARDED and not (strip_edge and low in _EDGE_HEADERS):
            kept.append((k, v))
    client = (flow.client_conn.peername[0] if flow.client_conn.peername else "").encode()
    kept.append((b"X-Forwarded-For", b", ".join([*prior, client])))
    kept.append((b"X-Forwarded-Proto",
                 b"https" if flow.client_conn.tls_established else b"http"))
    if host:
        kept.append((b"X-Forwarded-Host", host.encode("utf-8", "replace")))
    req.headers.fields = tuple(kept)
    return debug


def _to_dcs(req: http.Request, dcs: tuple[str, str, int]) -> None:
    """Send `req` to the DCS, keeping the Host header (and an HTTP/2 ``:authority``) the
    client sent. Set through the data fields: the ``host`` and ``port`` setters each rewrite
    the Host header, which would then have to be put back, on every DCS hit."""
    scheme, host, port = dcs
    data = req.data
    data.scheme, data.host, data.port = scheme.encode(), host, port
    if data.authority and not (req.is_http2 or req.is_http3):
        data.authority = url.hostport(scheme, host, port).encode()  # absolute-form HTTP/1


def _trace(
    info: visitor.HitInfo,
    uuid: str,
    outcome: Outcome,
    providers: list[dict[str, Any]],
    took_s: float,
) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "uuid_source": info.uuid_source if info.uuid else ("new" if not info.mid else "d_mid"),
        "signals": {k: list(v) for k, v in info.signals.items()},
        "gdpr": info.gdpr,
        "coppa": info.coppa,
        "deadline_ms": outcome.deadline_ms,
        "enrich_ms": round(outcome.elapsed_ms, 2),
        "edge_ms": round(took_s * 1000, 2),
        "providers": providers,
    }


def _fail_open(flow: http.HTTPFlow, cfg: edge_config.Config) -> http.Response:
    """A fast, well-formed answer for a DCS path while the DCS is down."""
    route = flow.metadata.get("edge_route")
    pairs = list(flow.request.query.items(multi=True))
    if route == "event" and (visitor.wants_json(pairs) or flow.request.method == "POST"):
        body = {"stuff": [], "dests": [], "uuid": "", "dcs_region": cfg.dcs.region,
                "tid": ids.new_tid(), "errors": [{"code": 0, "msg": "DCS unavailable"}]}
        return http.Response.make(
            200, json.dumps(body), {"content-type": "application/json", "X-Error": "0"}
        )
    if route == "tag":
        return http.Response.make(
            503, b"/* the DCS is unavailable */", {"content-type": "application/javascript"}
        )
    if route == "iframe":
        return http.Response.make(503, b"<!doctype html>", {"content-type": "text/html"})
    return http.Response.make(200, hitlog.PIXEL, {"content-type": "image/gif"})
