"""Issue 6's acceptance: a page that issues exactly the requests Audience Manager's client
libraries issue, in their order, through the edge over https, in headless Chromium.

The page (served by a test-only origin behind the edge) plays VisitorAPI's ``/id`` call on
``dpm.dcs.test``, then DIL's ``/event`` POST on ``acme.dcs.test`` (the ``partner``), then the
destination iframe messages (``ibs|...`` from ``/id``, ``dests|...`` from ``/event``). The
request sequence is written from the protocol reference; no Adobe code is used. The deployment
has one tenant, ``acme``, whose content is the demo's. Chromium is never downloaded; host
names map to 127.0.0.1 inside the browser and the test CA is trusted by the context.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge import config
from edge.certs import make_ca, make_leaf
from edge.contracts import internal
from edge.demo.stack import Stack, demo_config_text, ephemeral_ports, free_port

pytestmark = [pytest.mark.live, pytest.mark.browser, pytest.mark.timeout(120)]

DOMAIN, PARTNER, SITE = "dcs.test", "acme", "www.acme.test"
ORGID = "0123456789ABCDEF01234567@AdobeOrg"
WAIT_MS = 20_000
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--host-resolver-rules=MAP *.{DOMAIN} 127.0.0.1, MAP {SITE} 127.0.0.1"]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>aam clients</title></head>
<body><script>
(async function () {
  const EDGE = %(port)d, ORG = %(org)s, DOMAIN = %(domain)s, PARTNER = %(partner)s;
  const out = window.__aam = {steps: [], replies: []};
  const enc = encodeURIComponent;
  function xhr(method, url, body) {  // what both libraries use: credentialed CORS XHR
    return new Promise((ok, fail) => {
      const r = new XMLHttpRequest();
      r.open(method, url, true);
      r.withCredentials = true;
      if (body) r.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
      r.onload = () => ok(JSON.parse(r.responseText));
      r.onerror = () => fail(new Error('network error on ' + url));
      r.send(body || null);
    });
  }
  try {
    // 1. VisitorAPI: the ID service call, CORS form (no d_cb)
    const id = await xhr('GET', 'https://dpm.' + DOMAIN + ':' + EDGE + '/id?d_visid_ver=5.5.0'
      + '&d_fieldgroup=MC&d_rtbd=json&d_ver=2&d_orgid=' + enc(ORG) + '&d_nsid=0');
    out.steps.push({name: 'id', answer: id});
    // 2. DIL: the /event POST on <partner>.<domain>, once /id has answered
    const ts = Date.now();
    const body = 'd_mid=' + enc(id.d_mid) + '&d_nsid=0&d_ld=' + enc('_ts=' + ts)
      + '&d_rtbd=json&d_jsonv=1&d_dst=1&c_page=home&h_referer=' + enc(location.href);
    const ev = await xhr('POST', 'https://' + PARTNER + '.' + DOMAIN + ':' + EDGE
      + '/event?d_dil_ver=9.5&_ts=' + ts, body);
    out.steps.push({name: 'event', answer: ev});
    // 3. the destination iframe on <subdomain>.<domain>, then its messages
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin');
    frame.style.display = 'none';
    const origin = 'https://' + id.subdomain + '.' + DOMAIN + ':' + EDGE;
    frame.src = origin + '/dest5.html?d_nsid=0#' + enc(location.origin);
    const ready = new Promise((ok) => window.addEventListener('message', (e) => {
      if (e.origin !== origin || typeof e.data !== 'string') return;
      const text = e.data.replace('---destpub-to-parent---', '');
      out.replies.push(text);
      if (text.indexOf('canSetThirdPartyCookies') === 0) ok();
    }));
    document.body.appendChild(frame);
    await ready;
    const items = (id.ibs || []).map((s) => ['ibs', s.id, s.tag, s.url.join(','), s.ttl, '', '',
      s.fireURLSync].map((p) => enc(String(p))).join('|'))
      .concat((ev.dests || []).map((d) => ['dests', d.id, d.y, d.c].map(enc).join('|')));
    frame.contentWindow.postMessage(enc('---destpub-combined---') + items.join('%%01'), origin);
    out.steps.push({name: 'iframe', items: items});
  } catch (err) {
    out.error = String(err);
  }
  out.done = true;
})();
</script></body></html>
"""


class _Origin(http.server.ThreadingHTTPServer):
    page = b""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        page = self.server.page if isinstance(self.server, _Origin) else b""
        self.send_response(200 if self.path == "/aam.html" else 404)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def _split(text: str) -> tuple[str, str]:
    """The demo config as a main file (secret, edge, dcs) and one tenant's content."""
    head, sep, tail = text.partition("\n[[providers]]")
    assert sep, "the demo config has no providers"
    for dest in ("5003 = \"affluent\" }", "5008 = \"phones\" }"):
        assert dest in tail
        tail = tail.replace(dest, dest[:-2] + ", 5009 = \"home\" }")  # home page visitors
    return head, "[[providers]]" + tail


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict[str, Any]]:
    ports, origin_port = ephemeral_ports(), free_port()
    edge = ports["edge"]
    site = f"https://{SITE}:{edge}"
    leaf = make_leaf(make_ca(tmp_path / "ca")[0].parent,
                     [f"{PARTNER}.{DOMAIN}", f"dpm.{DOMAIN}", SITE])
    text = demo_config_text(ports, tmp_path)
    text = text.replace("deadline_ms = 100", "deadline_ms = 3000")
    text = re.sub(r"timeout_ms = \d+", "timeout_ms = 2500", text)
    text = text.replace(f"127.0.0.1:{ports['site']}\"", f"127.0.0.1:{origin_port}\"", 1)
    text = text.replace("[edge]\n", f"[edge]\ncerts = [{json.dumps(leaf.as_posix())}]\n", 1)
    main, tenant = _split(text)
    main += (f"\n[[tenants]]\nname = \"{PARTNER}\"\n"
             f"hosts = [\"{PARTNER}.{DOMAIN}\", \"dpm.{DOMAIN}\"]\n"
             f"orgid = \"{ORGID}\"\nconfig = \"acme.toml\"\n")
    tenant = (f"[dcs]\nallowed_origins = [\"{site}\"]\n"
              f"partner_hosts = [\"127.0.0.1\", \".{DOMAIN}\"]\n\n" + tenant)
    (tmp_path / "acme.toml").write_text(tenant, encoding="utf-8")
    cfg = tmp_path / "config.toml"
    cfg.write_text(main, encoding="utf-8")
    config.load(cfg)  # fail here, readably, on a bad split

    server = _Origin(("127.0.0.1", origin_port), _Handler)
    server.page = (PAGE % {"port": edge, "org": json.dumps(ORGID), "domain": json.dumps(DOMAIN),
                           "partner": json.dumps(PARTNER)}).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # the partner's sync pixel bounces the browser back to the tenant's host
    ibs = f"https://{PARTNER}.{DOMAIN}:{edge}/ibs:"
    stack = Stack(cfg, ports, tmp_path / "logs", provider_args={"acme": ["--ibs-url", ibs]})
    try:
        stack.start()
        yield {"site": site, "ports": ports, "config": config.load(cfg), "edge": edge}
    finally:
        stack.stop()
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser() -> Iterator[Any]:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("the browser tests need Debian's chromium on PATH; they never download one")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _visitor(dep: dict[str, Any], **params: str) -> dict[str, Any]:
    token = internal.token(dep["config"].secret)
    r = httpx.get(f"http://127.0.0.1:{dep['ports']['dcs']}{internal.VISITOR_PATH}",
                  params={**params, "tenant": PARTNER}, headers={internal.TOKEN_HEADER: token},
                  timeout=5.0)
    r.raise_for_status()
    doc: dict[str, Any] = r.json()
    return doc


def test_the_aam_client_sequence_through_the_edge(deployment: dict[str, Any],
                                                  browser: Any) -> None:
    dep, edge = deployment, deployment["edge"]
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    requests: list[Any] = []
    page.on("request", lambda r: requests.append(r))
    try:
        page.goto(f"{dep['site']}/aam.html")
        page.wait_for_function("window.__aam && window.__aam.done", timeout=WAIT_MS)
        page.wait_for_function(
            "window.__aam.replies.some(r => r.startsWith('ibs|1001|'))"
            " && window.__aam.replies.some(r => r.startsWith('dests|1|'))", timeout=WAIT_MS)
        out = page.evaluate("window.__aam")
        assert "error" not in out, out
        id_doc, event_doc = out["steps"][0]["answer"], out["steps"][1]["answer"]

        # 1. /id: what VisitorAPI reads
        mid = id_doc["d_mid"]
        assert re.fullmatch(r"[0-9]{38}", mid) and id_doc["subdomain"] == PARTNER
        assert id_doc["dcs_region"] == 7 and id_doc["id_sync_ttl"] == 604800
        assert id_doc["d_blob"] and "d_optout" not in id_doc
        [sync] = id_doc["ibs"]
        assert sync["id"] == "1001" and sync["fireURLSync"] == 1 and sync["tag"] == "img"
        known = _visitor(dep, mid=mid)
        assert known["uuid"] and sync["url"] == [
            f"http://127.0.0.1:{dep['ports']['acme']}/sync?uuid={known['uuid']}"]

        # 2. /event: the hit identified by d_mid alone is that visitor, and DIL gets its fields
        assert event_doc["uuid"] == known["uuid"]
        [stuff] = event_doc["stuff"]
        assert stuff["cn"] == "edge_segs" and "home" in stuff["cv"] and stuff["ttl"] == 30
        assert stuff["dmn"] == f".{PARTNER}.{DOMAIN}"
        [dest] = event_doc["dests"]
        assert dest["id"] == "1" and dest["y"] == "img" and dest["hr"] is True
        assert "home" in re.findall(r"seg=([^&]*)", dest["c"])[0].split(",")

        # 3. the iframe fired the ID sync and the URL destination, and the partner's id came back
        replies = out["replies"]
        assert replies[0].startswith("canSetThirdPartyCookies|")
        assert "ibs|1001|fired" in replies and "dests|1|fired" in replies
        # (the bounce reaches /ibs; with third-party cookies blocked, as in this browser, it
        # cannot name the visitor: the d_mid link above is what ties the hits together)
        bounce = f"https://{PARTNER}.{DOMAIN}:{edge}/ibs:dpid=1001&dpuuid="
        deadline = time.monotonic() + 10
        while not any(r.url.startswith(bounce) for r in requests) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert any(r.url.startswith(bounce) for r in requests), [r.url for r in requests]

        # the order the libraries use: /id, then the /event POST, then the iframe
        dcs = [(r.method, r.url.split("?")[0]) for r in requests
               if f".{DOMAIN}:{edge}/" in r.url and "/ibs:" not in r.url]
        assert dcs[:3] == [("GET", f"https://dpm.{DOMAIN}:{edge}/id"),
                           ("POST", f"https://{PARTNER}.{DOMAIN}:{edge}/event"),
                           ("GET", f"https://{PARTNER}.{DOMAIN}:{edge}/dest5.html")], dcs
        post = next(r for r in requests if r.method == "POST")
        assert post.headers["content-type"] == "application/x-www-form-urlencoded"
        assert re.search(r"/event\?d_dil_ver=9\.5&_ts=\d+$", post.url)
    finally:
        context.close()
