"""The edge.* commands, run against a configured EdgeAddon (taddons; providers mocked)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from mitmproxy import exceptions
from mitmproxy.addons.clientplayback import ClientPlayback
from mitmproxy.addons.view import View
from mitmproxy.test import taddons

from addons.commands import EdgeCommands
from addons.edge_addon import EdgeAddon
from edge import config
from edge.contracts import envelope
from edge.enrich.fanout import Hit

from ._flows import OTHER, UUID, dcs_flow

DEMO = Path(config.__file__).parent / "demo.toml"


def _provider(request: httpx.Request) -> httpx.Response:
    name = {8101: "sports", 8102: "parent", 8103: "gamer"}[request.url.port or 0]
    return httpx.Response(200, json={"segments": [{"id": name, "status": 1}], "ttl_s": 60})


def _edge() -> EdgeAddon:
    return EdgeAddon(lambda cfg: httpx.AsyncClient(transport=httpx.MockTransport(_provider)))


def run(body):  # type: ignore[no-untyped-def]
    """Run `body(tctx, edge, commands, view, playback)` inside a loop with a configured edge."""

    async def main() -> object:
        edge, cmds, view, playback = _edge(), EdgeCommands(), View(), ClientPlayback()
        with taddons.context(edge, cmds, view, playback) as tctx:
            tctx.configure(edge, edge_config=str(DEMO), edge_admin=False)
            try:
                return await body(tctx, edge, cmds, view, playback)
            finally:
                await edge.enricher.aclose()

    return asyncio.run(main())


def test_providers_reports_each_provider_as_json() -> None:
    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        await edge.enricher.enrich(Hit(UUID, {}))
        return json.loads(tctx.command(cmds.providers))

    rows = run(body)
    assert [r["name"] for r in rows] == ["acme", "birch", "cedar"]
    acme = rows[0]
    assert acme["breaker"] == "closed" and acme["calls"] == 1 and acme["ok"] == 1
    assert acme["cache_hit_rate"] == 0.0 and acme["p50_ms"] is not None


def test_cache_inspect_and_clear() -> None:
    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        await edge.enricher.enrich(Hit(UUID, {}))
        before = json.loads(cmds.cache_inspect(UUID))
        other = json.loads(cmds.cache_inspect(OTHER))
        consented = json.loads(cmds.cache_inspect(UUID, "COabc"))
        removed = cmds.cache_clear(UUID)
        after = json.loads(cmds.cache_inspect(UUID))
        return before, other, consented, removed, after

    before, other, consented, removed, after = run(body)
    assert before["providers"]["acme"] == {"fresh": ["sports"], "failing": False, "stale": None}
    assert before["providers"]["cedar"]["fresh"] == ["gamer"]
    assert other["providers"]["acme"]["fresh"] is None
    assert consented["providers"]["acme"]["fresh"] is None  # another consent, another entry
    assert removed == 3
    assert after["providers"]["acme"]["fresh"] is None


def test_disable_and_enable_a_provider() -> None:
    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        tctx.command(cmds.provider_disable, "birch")
        off = await edge.enricher.enrich(Hit(UUID, {}))
        tctx.command(cmds.provider_enable, "birch")
        on = await edge.enricher.enrich(Hit(OTHER, {}))
        return off, on

    off, on = run(body)
    assert {r.name: r.status for r in off.results}["birch"] == "disabled"
    assert {r.name: r.status for r in on.results}["birch"] == "ok"


def test_unknown_provider_is_a_command_error_naming_the_known_ones() -> None:
    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        with pytest.raises(exceptions.CommandError, match="unknown provider 'zed'.*acme"):
            cmds.provider_disable("zed")

    run(body)


def test_commands_need_a_configured_edge() -> None:
    async def main() -> None:
        with taddons.context(EdgeAddon(), EdgeCommands()) as tctx:
            cmds = tctx.master.addons.get("edgecommands")
            with pytest.raises(exceptions.CommandError, match="not configured"):
                cmds.providers()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("uuid", "consent", "query", "absent"),
    [
        (OTHER, "", {"d_uuid": OTHER}, ()),
        ("new", "none", {}, ("d_uuid", "gdpr", "gdpr_consent")),
        (OTHER, "COnew", {"d_uuid": OTHER, "gdpr": "1", "gdpr_consent": "COnew"}, ()),
    ],
)
def test_replay_queues_a_rewritten_copy(
    uuid: str, consent: str, query: dict[str, str], absent: tuple[str, ...]
) -> None:
    original = dcs_flow("/event?d_rtbd=json&c_page=home&gdpr=1&gdpr_consent=COold")

    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        view.add([original, dcs_flow(route="origin")])  # only the event hit is replayed
        args = ["@all", uuid] + ([consent] if consent else [])
        n = tctx.master.commands.call_strings("edge.replay", args)
        copies = [f for f in view._store.values() if f.comment.startswith("replay")]
        return n, playback.queue.qsize(), copies

    n, queued, copies = run(body)
    assert n == 1 and queued == 1 and len(copies) == 1
    copy = copies[0]
    for key, value in query.items():
        assert copy.request.query[key] == value
    for key in absent:
        assert key not in copy.request.query
    assert "demdex" not in copy.request.cookies
    assert envelope.HEADER not in copy.request.headers
    assert "edge" not in copy.metadata and copy.is_replay == "request"
    assert copy.comment.startswith(f"replay of {original.id} as visitor {uuid}")
    assert original.request.query.get("d_uuid") is None  # the original is untouched


def test_replay_rejects_a_bad_visitor_id() -> None:
    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        with pytest.raises(exceptions.CommandError, match="not a visitor id"):
            cmds.replay([dcs_flow()], "1234")

    run(body)


def test_replay_rewrites_a_form_body_that_carries_the_id() -> None:
    f = dcs_flow("/event?d_rtbd=json", method="POST", content=f"d_uuid={UUID}&c_a=1".encode())
    f.request.headers["content-type"] = "application/x-www-form-urlencoded"

    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        cmds.replay([f], OTHER)
        return next(iter(view._store.values()))

    copy = run(body)
    assert copy.request.urlencoded_form["d_uuid"] == OTHER
    assert copy.request.urlencoded_form["c_a"] == "1"


def test_reload_reports_what_it_loaded_or_why_not(tmp_path: Path) -> None:
    copy = tmp_path / "edge.toml"
    copy.write_text(DEMO.read_text())

    async def body(tctx, edge, cmds, view, playback):  # type: ignore[no-untyped-def]
        tctx.configure(edge, edge_config=str(copy))
        await edge.enricher.enrich(Hit(UUID, {}))
        done = tctx.command(cmds.reload)
        cached = json.loads(cmds.cache_inspect(UUID))
        copy.write_text(DEMO.read_text() + "\n[nonsense]\n")
        with pytest.raises(exceptions.CommandError, match="not reloaded: nonsense"):
            tctx.command(cmds.reload)
        return done, cached

    done, cached = run(body)
    assert done == f"reloaded {copy}: 3 providers, no tenants"
    assert cached["providers"]["acme"]["fresh"] == ["sports"]  # the cache carried over
