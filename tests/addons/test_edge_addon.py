"""The edge addon under mitmproxy's test context: config, routing, enrichment, fail-open.

``taddons.context`` builds a Master, and mitmproxy's ``ctx`` is process-global: this module
starts no real proxy. Each test runs in its own ``asyncio.run``; providers and the DCS's
internal endpoint are an ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from mitmproxy import ctx, exceptions, http
from mitmproxy.proxy import server_hooks
from mitmproxy.test import taddons, tflow, tutils

from addons import hitlog
from addons.edge_addon import META, EdgeAddon
from edge.contracts import envelope, ids, internal

SECRET = "0123456789abcdef-addon-tests"
UUID = "12345678901234567890123456789012345678"
SITE = "site.test"

CONFIG = f"""
secret = "{SECRET}"
[edge]
origin = "http://127.0.0.1:8090"
dcs = "http://dcs.test:8081"
deadline_ms = 5000
[[providers]]
name = "acme"
dpid = 1001
url = "http://acme.test/v1"
timeout_ms = 5000
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@dataclass
class Backends:
    """The mock provider and DCS internal endpoint; every request recorded."""

    provider: Callable[[httpx.Request], httpx.Response] = field(
        default=lambda _r: httpx.Response(200, json={"segments": [{"id": "sports"}]})
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "dcs.test" and request.url.path == internal.VISITOR_PATH:
            return httpx.Response(200, json={"uuid": None, "partner_ids": {}, "opted_out": False})
        if request.url.host == "acme.test":
            return self.provider(request)
        return httpx.Response(404)

    def provider_calls(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.host == "acme.test"]


def run(scenario: Callable[[EdgeAddon, Backends], Awaitable[None]], config_file: Path,
        backends: Backends | None = None) -> Backends:
    """Run `scenario` with a configured addon whose enricher talks to `backends`."""
    backends = backends or Backends()

    async def main() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(backends))
        addon = EdgeAddon(client_factory=lambda _cfg: client)
        with taddons.context(addon) as tctx:
            tctx.configure(addon, edge_config=str(config_file))
            assert addon.enricher is not None
            try:
                await scenario(addon, backends)
                await _settle()
            finally:
                await addon.enricher.aclose()
                await client.aclose()

    asyncio.run(main())
    return backends


async def _settle() -> None:
    """Let background tasks (early lookups, prefetches) finish."""
    for _ in range(3):
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not others:
            return
        await asyncio.wait(others, timeout=5)


def flow(path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
         body: bytes = b"", tls: bool = False) -> http.HTTPFlow:
    hdrs = http.Headers(host=SITE, **(headers or {}))
    if body:
        hdrs["content-type"] = "application/x-www-form-urlencoded"
    req = tutils.treq(host="127.0.0.1", port=8090, method=method.encode(), path=path.encode(),
                      headers=hdrs, content=body)
    f = tflow.tflow(req=req)
    if not tls:
        f.client_conn.timestamp_tls_setup = None
    return f


# -- configure -------------------------------------------------------------------------------


def test_configure_loads_the_file(config_file: Path) -> None:
    async def main() -> None:
        addon = EdgeAddon()
        with taddons.context(addon) as tctx:
            tctx.configure(addon, edge_config=str(config_file))
            assert addon.config is not None and addon.config.provider("acme") is not None
            assert addon._dcs == ("http", "dcs.test", 8081)
            assert addon.enricher is not None and addon.health is not None
            tctx.configure(addon, edge_config=None)
            assert addon.config is None
            await addon.enricher.aclose()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(CONFIG + "\n[bogus]\n", "bogus: unknown key", id="unknown-key"),
        pytest.param(CONFIG.replace("deadline_ms = 5000", "deadline_ms = -1"),
                     "edge.deadline_ms: expected a positive integer", id="negative"),
        pytest.param(CONFIG.replace("http://dcs.test:8081", "http://dcs.test:port"),
                     "edge.dcs: expected an http(s) URL", id="bad-dcs-url"),
        pytest.param("secret = ", "not valid TOML", id="not-toml"),
        pytest.param(None, "cannot read", id="missing-file"),
    ],
)
def test_configure_rejects_a_bad_file(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "edge.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")

    async def main() -> None:
        addon = EdgeAddon()
        with taddons.context(addon) as tctx:
            pattern = f"^edge_config: .*{re.escape(message)}"
            with pytest.raises(exceptions.OptionsError, match=pattern):
                tctx.configure(addon, edge_config=str(path))
            assert addon.config is None

    asyncio.run(main())


# -- requestheaders: routing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "route", "to_dcs"),
    [
        pytest.param("/shoes.html?x=1", "GET", "origin", False, id="origin"),
        pytest.param("/", "GET", "origin", False, id="origin-root"),
        pytest.param("/event?c_page=home", "POST", "event", True, id="event"),
        pytest.param(f"/event?d_uuid={UUID}", "GET", "event", True, id="event-get"),
        pytest.param(f"/dest5.html?d_uuid={UUID}", "GET", "iframe", True, id="iframe"),
        pytest.param("/tag.js", "GET", "tag", True, id="tag"),
        pytest.param("/ibs:dpid=1001&dpuuid=x", "GET", "dcs", True, id="ibs"),
        pytest.param("/demoptout.jpg", "GET", "dcs", True, id="optout"),
    ],
)
def test_routing(config_file: Path, path: str, method: str, route: str, to_dcs: bool) -> None:
    spoofed = {name: "forged" for name in envelope.EDGE_HEADERS}

    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(path, method=method, headers=spoofed)
        addon.requestheaders(f)
        req = f.request
        assert f.metadata["edge_route"] == route and f.response is None
        assert req.path == path
        assert req.headers["Host"] == SITE
        if to_dcs:
            assert (req.scheme, req.host, req.port) == ("http", "dcs.test", 8081)
            assert not any(name in req.headers for name in envelope.EDGE_HEADERS)
        else:
            assert (req.scheme, req.host, req.port) == ("http", "127.0.0.1", 8090)

    run(scenario, config_file)


@pytest.mark.parametrize(
    "path", ["/internal/visitor?uuid=" + UUID, "/internal/", "/internal"]
)
def test_internal_surface_is_refused(config_file: Path, path: str) -> None:
    async def scenario(addon: EdgeAddon, backends: Backends) -> None:
        f = flow(path, headers={internal.TOKEN_HEADER: "guess"})
        addon.requestheaders(f)
        assert f.response is not None and f.response.status_code == 404
        assert f.request.host == "127.0.0.1"  # not re-pointed at the DCS
        await addon.request(f)
        assert backends.requests == []

    run(scenario, config_file)


def test_host_header_kept_when_it_names_the_origin(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow("/ibs:dpid=1")
        f.request.headers["Host"] = "127.0.0.1:8090"
        addon.requestheaders(f)
        assert f.request.host == "dcs.test" and f.request.headers["Host"] == "127.0.0.1:8090"

    run(scenario, config_file)


@pytest.mark.parametrize(
    ("version", "authority", "expected_authority"),
    [
        pytest.param("HTTP/1.1", "", "", id="h1-origin-form"),
        pytest.param("HTTP/1.1", SITE, "dcs.test:8081", id="h1-absolute-form"),
        pytest.param("HTTP/2.0", SITE, SITE, id="h2-authority-kept"),
    ],
)
def test_dcs_hit_keeps_what_the_client_named(
    config_file: Path, version: str, authority: str, expected_authority: str
) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow("/event?c_a=1")
        f.request.http_version = version
        f.request.authority = authority
        addon.requestheaders(f)
        req = f.request
        assert (req.scheme, req.host, req.port) == ("http", "dcs.test", 8081)
        assert req.headers["Host"] == SITE and req.authority == expected_authority
        assert req.url.startswith("http://dcs.test:8081/event?")

    run(scenario, config_file)


@pytest.mark.parametrize(
    ("prior", "tls", "xff", "proto"),
    [
        pytest.param(None, False, "127.0.0.1", "http", id="plain"),
        pytest.param("10.0.0.1", False, "10.0.0.1, 127.0.0.1", "http", id="appends"),
        pytest.param(None, True, "127.0.0.1", "https", id="tls"),
    ],
)
def test_forwarded_headers(config_file: Path, prior: str | None, tls: bool, xff: str,
                           proto: str) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        for path in ("/event", "/index.html"):
            headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test"}
            if prior is not None:
                headers["X-Forwarded-For"] = prior
            f = flow(path, method="POST", headers=headers, tls=tls)
            addon.requestheaders(f)
            h = f.request.headers
            assert (h["X-Forwarded-For"], h["X-Forwarded-Proto"]) == (xff, proto)
            assert h["X-Forwarded-Host"] == SITE

    run(scenario, config_file)


def test_without_config_nothing_happens() -> None:
    async def main() -> None:
        addon = EdgeAddon()
        with taddons.context(addon):
            f = flow("/internal/visitor")
            addon.requestheaders(f)
            await addon.request(f)
            assert f.response is None and "edge_route" not in f.metadata
            assert f.request.host == "127.0.0.1"

    asyncio.run(main())


# -- request: enrichment ---------------------------------------------------------------------


def verify(f: http.HTTPFlow, uuid: str | None) -> envelope.Envelope:
    value = f.request.headers[envelope.HEADER]
    return envelope.Verifier(SECRET.encode()).verify(value, uuid=uuid)


def test_event_hit_carries_a_valid_envelope(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(f"/event?d_uuid={UUID}&c_page=shoes&p_email=a%40b.test", method="POST",
                 headers={envelope.HEADER: "v1.1.forged.sig"}, body=b"c_section=men")
        addon.requestheaders(f)
        await addon.request(f)
        env = verify(f, UUID)
        assert env.deadline_ms == 5000
        (acme,) = env.providers
        assert (acme.name, acme.dpid, acme.status) == ("acme", 1001, "ok")
        assert [s.id for s in acme.segments] == ["sports"]
        trace = f.metadata[META]
        assert (trace["uuid"], trace["uuid_source"]) == (UUID, "d_uuid")
        assert trace["signals"] == {"c_page": ["shoes"], "c_section": ["men"]}
        assert trace["providers"] == [acme.to_json()]
        assert f.marked == ":star:" and UUID in f.comment

    backends = run(scenario, config_file)
    (call,) = backends.provider_calls()
    assert call["user"]["uuid"] == UUID
    assert call["signals"] == {"c_page": ["shoes"], "c_section": ["men"]}


def test_without_marks_the_flow_list_fields_stay_empty(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        addon.marks = False  # the lean runner's setting: no flow list to decorate
        f = flow(f"/event?d_uuid={UUID}&c_page=home")
        addon.requestheaders(f)
        await addon.request(f)
        assert verify(f, UUID).providers and (f.marked, f.comment) == ("", "")

    run(scenario, config_file)


def test_iframe_starts_the_lookup_the_event_hit_reuses(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, backends: Backends) -> None:
        frame = flow(f"/dest5.html?d_uuid={UUID}")
        addon.requestheaders(frame)
        await addon.request(frame)
        assert frame.response is None and META not in frame.metadata
        await _settle()
        assert len(backends.provider_calls()) == 1  # started by the iframe alone
        f = flow(f"/event?d_uuid={UUID}&c_page=home")
        addon.requestheaders(f)
        await addon.request(f)
        (acme,) = verify(f, UUID).providers
        assert (acme.status, acme.cache) == ("ok", "hit")

    backends = run(scenario, config_file)
    assert len(backends.provider_calls()) == 1


def test_iframe_without_visitor_starts_nothing(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        addon.requestheaders(flow("/dest5.html"))

    assert run(scenario, config_file).requests == []


def test_new_visitor_gets_a_fresh_uuid(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow("/event?c_page=home", method="POST")
        addon.requestheaders(f)
        await addon.request(f)
        env = verify(f, None)
        assert ids.is_uuid(env.uuid)
        assert f.metadata[META]["uuid_source"] == "new"

    backends = run(scenario, config_file)
    assert backends.provider_calls()[0]["user"]["uuid"] != UUID


@pytest.mark.parametrize(
    ("path", "cookie"),
    [
        pytest.param("/event?c_page=home", "demdex=NOTARGET", id="opted-out-cookie"),
        pytest.param("/event?c_page=home&d_coppa=true", "", id="coppa"),
    ],
)
def test_opted_out_and_coppa_hits_ask_no_provider(config_file: Path, path: str,
                                                  cookie: str) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(path, method="POST", headers={"cookie": cookie} if cookie else {})
        addon.requestheaders(f)
        await addon.request(f)
        (acme,) = verify(f, None).providers
        assert acme.status == "skipped_consent"

    assert run(scenario, config_file).provider_calls() == []


def test_failing_provider_degrades_the_hit(config_file: Path) -> None:
    backends = Backends(provider=lambda _r: httpx.Response(500))

    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(f"/event?d_uuid={UUID}", method="POST")
        addon.requestheaders(f)
        await addon.request(f)
        (acme,) = verify(f, UUID).providers
        assert (acme.status, acme.segments) == ("error", ())
        assert f.marked == ":warning:" and "degraded acme:error" in f.comment

    run(scenario, config_file, backends)


@pytest.mark.parametrize("path", ["/ibs:dpid=1001&dpuuid=x", "/tag.js", "/index.html"])
def test_only_event_hits_are_enriched(config_file: Path, path: str) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(path)
        addon.requestheaders(f)
        await addon.request(f)
        assert envelope.HEADER not in f.request.headers and META not in f.metadata
        assert f.response is None

    backends = run(scenario, config_file)
    assert backends.requests == []


# -- fail-open -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "status", "content_type"),
    [
        pytest.param("/event?d_rtbd=json&c_page=x", "GET", 200, "application/json",
                     id="event-json"),
        pytest.param("/event", "POST", 200, "application/json", id="event-post"),
        pytest.param("/event?c_page=x", "GET", 200, "image/gif", id="event-pixel"),
        pytest.param("/ibs:dpid=1001&dpuuid=x", "GET", 200, "image/gif", id="ibs"),
        pytest.param("/tag.js", "GET", 503, "application/javascript", id="tag"),
        pytest.param("/dest5.html", "GET", 503, "text/html", id="iframe"),
    ],
)
def test_fail_open_when_the_dcs_is_down(config_file: Path, path: str, method: str, status: int,
                                        content_type: str) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        assert addon.health is not None
        addon.health.mark_down("test")
        f = flow(path, method=method)
        addon.requestheaders(f)
        await addon.request(f)
        assert f.response is not None
        assert (f.response.status_code, f.response.headers["content-type"]) == (
            status, content_type)
        assert f.metadata[META] == {"degraded": "dcs_down"} and f.marked == ":no_entry:"
        if content_type == "application/json":
            doc = json.loads(f.response.content or b"")
            assert doc["errors"][0]["msg"] == "DCS unavailable" and ids.is_tid(doc["tid"])
        if content_type == "image/gif":
            assert f.response.content == hitlog.PIXEL
        addon.response(f)  # no trace of providers: nothing added
        assert "Server-Timing" not in f.response.headers

    backends = run(scenario, config_file)
    assert backends.provider_calls() == []


def test_origin_is_served_while_the_dcs_is_down(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        assert addon.health is not None
        addon.health.mark_down("test")
        f = flow("/index.html")
        addon.requestheaders(f)
        await addon.request(f)
        assert f.response is None

    run(scenario, config_file)


@pytest.mark.parametrize(
    ("address", "up"),
    [
        pytest.param(("dcs.test", 8081), False, id="dcs-unreachable"),
        pytest.param(("127.0.0.1", 8090), True, id="origin-unreachable"),
        pytest.param(("127.0.0.1", 9999), True, id="another-server"),
    ],
)
def test_connect_errors_to_the_dcs_mark_it_down(config_file: Path, address: tuple[str, int],
                                                up: bool) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        conn = tflow.tserver_conn()
        conn.address = address
        conn.error = "[Errno 111] Connect call failed"
        data = server_hooks.ServerConnectionHookData(conn, tflow.tclient_conn())
        addon.server_connect_error(data)
        assert addon.health is not None and addon.health.up is up

    run(scenario, config_file)


# -- response --------------------------------------------------------------------------------


def test_response_adds_server_timing_and_logs(config_file: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    answer = {"uuid": UUID, "tid": "31ZpxW5bQGc=", "traits": [101], "segments": [5001],
              "stuff": [], "dests": []}

    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(f"/event?d_uuid={UUID}", method="POST")
        addon.requestheaders(f)
        await addon.request(f)
        f.response = http.Response.make(200, json.dumps(answer),
                                         {"content-type": "application/json"})
        with caplog.at_level(logging.INFO, logger="edge.hits"):
            addon.response(f)
        timing = f.response.headers["Server-Timing"]
        assert timing.startswith("edge;dur=") and 'desc="deadline 5000ms"' in timing
        assert 'p-acme;dur=' in timing and 'desc="ok/miss"' in timing
        assert f.metadata[META]["answer"]["segments"] == [5001]

    run(scenario, config_file)
    (record,) = [r for r in caplog.records if r.name == "edge.hits"]
    line = json.loads(record.getMessage())
    assert (line["event"], line["uuid"], line["segments"]) == ("hit", UUID, [5001])
    assert line["providers"][0]["segments"] == ["sports"]


@pytest.mark.parametrize(("mode", "logged", "buffered"),
                         [("logger", 1, 0), ("stdout", 0, 1), ("off", 0, 0)])
def test_hit_log_modes(config_file: Path, caplog: pytest.LogCaptureFixture, mode: str,
                       logged: int, buffered: int) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        ctx.options.update(edge_hit_log=mode)
        f = flow(f"/event?d_uuid={UUID}", method="POST")
        addon.requestheaders(f)
        await addon.request(f)
        f.response = http.Response.make(200, b"{}", {"content-type": "application/json"})
        with caplog.at_level(logging.INFO, logger="edge.hits"):
            addon.response(f)
        assert len([r for r in caplog.records if r.name == "edge.hits"]) == logged
        assert len(addon.hit_log.lines if addon.hit_log else []) == buffered

    run(scenario, config_file)


def test_response_leaves_other_flows_alone(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow("/index.html")
        addon.requestheaders(f)
        await addon.request(f)
        f.response = http.Response.make(200, b"<html>", {"content-type": "text/html"})
        addon.response(f)
        assert "Server-Timing" not in f.response.headers

    run(scenario, config_file)


# -- metrics on the admin port -----------------------------------------------------------------


def _samples(registry: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, as served (text format, parsed back)."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def test_metrics_count_requests_enrichment_and_fail_open(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        for path in (f"/event?d_uuid={UUID}&c_a=1", f"/event?d_uuid={UUID}&c_a=2", "/page.html"):
            f = flow(path)
            addon.requestheaders(f)
            await addon.request(f)
        before = _samples(addon.exposition())
        assert before[("edge_requests_total", (("route", "event"),))] == 2
        assert before[("edge_requests_total", (("route", "origin"),))] == 1
        assert before[("edge_enrich_duration_seconds_count", ())] == 2
        assert before[("edge_enrich_duration_seconds_bucket", (("le", "+Inf"),))] == 2
        assert before[("edge_dcs_up", ())] == 1
        assert before[("edge_provider_results_total",
                       (("cache", "hit"), ("provider", "acme"), ("status", "ok")))] == 1
        assert addon.health is not None
        addon.health.mark_down("test")
        f = flow(f"/event?d_uuid={UUID}&d_rtbd=json")
        addon.requestheaders(f)
        await addon.request(f)
        after = _samples(addon.exposition())
        assert after[("edge_fail_open_total", (("route", "event"),))] == 1
        assert after[("edge_dcs_up", ())] == 0
        assert not any(dict(labels).get("tenant") for _, labels in after)

    run(scenario, config_file)


def test_every_tenants_metrics_are_served_with_a_tenant_label(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[[providers]]\nname = "acme"\ndpid = 1001\nurl = "http://acme.test/v1"\n'
        "timeout_ms = 5000\n")
    (tmp_path / "b.toml").write_text(
        '[[providers]]\nname = "birch"\ndpid = 1002\nurl = "http://birch.test/v1"\n'
        "timeout_ms = 5000\n")
    main = tmp_path / "edge.toml"
    main.write_text(CONFIG.split("[[providers]]")[0]
                    + '[[tenants]]\nname = "a"\nhosts = ["a.test"]\norgid = "AAAA1111@AdobeOrg"\n'
                    + 'config = "a.toml"\n'
                    + '[[tenants]]\nname = "b"\nhosts = ["b.test"]\norgid = "BBBB2222@AdobeOrg"\n'
                    + 'config = "b.toml"\n')
    backends = Backends()

    def answers(request: httpx.Request) -> httpx.Response:
        if request.url.host in ("acme.test", "birch.test"):
            return httpx.Response(200, json={"segments": [{"id": "s"}]})
        return backends(request)

    async def main_() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(answers))
        addon = EdgeAddon(client_factory=lambda _cfg: client)
        with taddons.context(addon) as tctx:
            tctx.configure(addon, edge_config=str(main))
            for host in ("a.test", "b.test", "b.test"):
                f = flow(f"/event?d_uuid={UUID}")
                f.request.headers["Host"] = host
                addon.requestheaders(f)
                await addon.request(f)
            got = _samples(addon.exposition())
            for e in addon.enrichers.values():
                await e.aclose()
        await client.aclose()
        assert got[("edge_enrich_duration_seconds_count", (("tenant", "a"),))] == 1
        assert got[("edge_enrich_duration_seconds_count", (("tenant", "b"),))] == 2
        assert got[("edge_provider_results_total", (("cache", "miss"), ("provider", "acme"),
                                                    ("status", "ok"), ("tenant", "a")))] == 1
        assert got[("edge_provider_results_total", (("cache", "hit"), ("provider", "birch"),
                                                    ("status", "ok"), ("tenant", "b")))] == 1
        assert got[("edge_requests_total", (("route", "event"),))] == 3

    asyncio.run(main_())


# -- reload ----------------------------------------------------------------------------------


def test_reload_keeps_cached_answers_and_asks_new_providers(config_file: Path) -> None:
    birch = '\n[[providers]]\nname = "birch"\ndpid = 1002\nurl = "http://acme.test/v2"\n'

    async def scenario(addon: EdgeAddon, backends: Backends) -> None:
        async def hit() -> dict[str, tuple[str, str]]:
            f = flow(f"/event?d_uuid={UUID}")
            addon.requestheaders(f)
            await addon.request(f)
            return {p["name"]: (p["status"], p["cache"]) for p in f.metadata[META]["providers"]}

        assert await hit() == {"acme": ("ok", "miss")}
        old = addon.enricher
        config_file.write_text(CONFIG + birch, encoding="utf-8")
        assert addon.reload().startswith(f"reloaded {config_file}: 2 providers")
        assert addon.enricher is not old and addon.config is not None
        assert await hit() == {"acme": ("ok", "hit"), "birch": ("ok", "miss")}
        assert [c["dpid"] for c in backends.provider_calls()] == [1001, 1002]

    run(scenario, config_file)


def test_reload_of_a_broken_file_keeps_the_running_config(config_file: Path) -> None:
    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        before, enricher = addon.config, addon.enricher
        config_file.write_text(CONFIG + "\n[edge]\ndeadline_ms = 1\n", encoding="utf-8")
        with pytest.raises(ValueError, match="edge"):
            addon.reload()
        config_file.write_text(CONFIG.replace("deadline_ms = 5000", "deadline_ms = 0"))
        with pytest.raises(ValueError, match="deadline_ms"):
            addon.reload()
        assert addon.config is before and addon.enricher is enricher
        f = flow(f"/event?d_uuid={UUID}")
        addon.requestheaders(f)
        await addon.request(f)
        assert f.metadata[META]["providers"][0]["status"] == "ok"

    run(scenario, config_file)


# -- Server-Timing exposure ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "sent", "shown"),
    [
        pytest.param("", None, True, id="default-always"),
        pytest.param('server_timing = "never"', "t0ken-for-tests", False, id="never"),
        pytest.param('server_timing = "token"\nserver_timing_token = "t0ken-for-tests"', None,
                     False, id="token-missing"),
        pytest.param('server_timing = "token"\nserver_timing_token = "t0ken-for-tests"', "guess",
                     False, id="token-wrong"),
        pytest.param('server_timing = "token"\nserver_timing_token = "t0ken-for-tests"',
                     "t0ken-for-tests", True, id="token-right"),
    ],
)
def test_server_timing_exposure(config_file: Path, setting: str, sent: str | None,
                                shown: bool) -> None:
    config_file.write_text(CONFIG.replace("deadline_ms = 5000", f"deadline_ms = 5000\n{setting}"))

    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(f"/event?d_uuid={UUID}", headers={"X-Edge-Debug": sent} if sent else None)
        addon.requestheaders(f)
        assert "X-Edge-Debug" not in f.request.headers  # never forwarded to the DCS
        await addon.request(f)
        f.response = http.Response.make(200, b"{}", {"content-type": "application/json"})
        addon.response(f)
        assert ("Server-Timing" in f.response.headers) is shown

    run(scenario, config_file)


@pytest.mark.parametrize(
    ("setting", "message"),
    [('server_timing = "sometimes"', "edge.server_timing: one of always, never, token"),
     ('server_timing = "token"', "edge.server_timing_token: required")],
)
def test_server_timing_settings_are_checked(tmp_path: Path, setting: str, message: str) -> None:
    from edge import config as edge_config

    with pytest.raises(edge_config.ConfigError, match=message):
        edge_config.parse(CONFIG.replace("deadline_ms = 5000", f"deadline_ms = 5000\n{setting}"))


@pytest.mark.parametrize(
    ("query", "headers", "asked"),
    [
        pytest.param("", {}, True, id="no-signal"),
        pytest.param("&us_privacy=1YYN", {}, False, id="us-privacy-opt-out"),
        pytest.param("&us_privacy=1YNN", {}, True, id="us-privacy-no-opt-out"),
        pytest.param("", {"Sec-GPC": "1"}, False, id="global-privacy-control"),
    ],
)
def test_opt_out_of_sale_skips_sale_providers(config_file: Path, query: str,
                                             headers: dict[str, str], asked: bool) -> None:
    config_file.write_text(CONFIG.replace("timeout_ms = 5000", "timeout_ms = 5000\nsale = true"))

    async def scenario(addon: EdgeAddon, _b: Backends) -> None:
        f = flow(f"/event?d_uuid={UUID}&c_a=1{query}", headers=headers)
        addon.requestheaders(f)
        await addon.request(f)
        status = f.metadata[META]["providers"][0]["status"]
        assert status == ("ok" if asked else "skipped_consent")

    backends = run(scenario, config_file)
    assert len(backends.provider_calls()) == (1 if asked else 0)
