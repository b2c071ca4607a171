"""The chaos addon: misbehaviour on demand, per provider or per route, for tests and demos.

Option ``edge_chaos`` (a list of specs, see ``edge.chaos``), e.g.::

    --set edge_chaos=provider:acme:latency=300,p=0.5 --set edge_chaos=route:/event:error=503,p=0.1

and ``edge_chaos_seed`` (an int) for a reproducible run. Both can change while running
(``set edge_chaos=...`` in the console or mitmweb's command bar, ``PUT /options`` of mitmweb's
API); an empty list turns chaos off.

- Provider specs act on the provider calls, which httpx makes inside the Enricher: pass
  ``client_factory=chaos.client_for`` to ``EdgeAddon`` (``addons/debug_entry.py`` does) and the
  Enricher's client gets a chaos transport (``edge.chaos_http``).
- Route specs act on the flows (place this addon after the edge): ``latency`` delays the
  request, ``error=<status>`` answers it from the edge, ``reset`` kills the flow, ``garbage``
  replaces the response body. A flow chaos touched is marked ``:fire:`` and says so in its
  comment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
from mitmproxy import ctx, exceptions, http

from edge import chaos as chaos_mod
from edge import config as edge_config
from edge.chaos_http import chaos_client

FIRED = "edge_chaos"  # flow.metadata key: the specs that fired for this flow


class EdgeChaos:
    def __init__(self) -> None:
        self.chaos = chaos_mod.Chaos()

    def load(self, loader: Any) -> None:
        loader.add_option(
            "edge_chaos", Sequence[str], [],
            "Chaos specs: provider:<name|*>:<effects> or route:</path|*>:<effects>; effects "
            "latency=<ms>, error=<status>, reset, garbage, p=<0..1>.",
        )
        loader.add_option("edge_chaos_seed", int | None, None, "Seed the chaos dice.")

    def configure(self, updated: set[str]) -> None:
        if "edge_chaos" not in updated and "edge_chaos_seed" not in updated:
            return
        try:
            self.chaos = chaos_mod.Chaos.from_specs(
                ctx.options.edge_chaos, ctx.options.edge_chaos_seed
            )
        except chaos_mod.ChaosSpecError as e:
            raise exceptions.OptionsError(str(e)) from None

    def client_for(self, cfg: edge_config.Config) -> httpx.AsyncClient:
        """The Enricher's provider client; its chaos follows this addon's current rules."""
        return chaos_client(cfg, lambda: self.chaos)

    async def request(self, flow: http.HTTPFlow) -> None:
        if not self.chaos or flow.response is not None:
            return
        action = self.chaos.decide("route", flow.request.path)
        if action is None:
            return
        flow.metadata[FIRED] = {"specs": list(action.specs), "fault": action.fault}
        _note(flow, action)
        if action.latency_ms:
            await asyncio.sleep(action.latency_ms / 1000)
        if action.fault == "error":
            flow.response = http.Response.make(
                action.status, b"chaos: injected error", {"content-type": "text/plain"}
            )
        elif action.fault == "reset":
            flow.kill()

    def response(self, flow: http.HTTPFlow) -> None:
        fired = flow.metadata.get(FIRED)
        if fired and fired.get("fault") == "garbage" and flow.response is not None:
            flow.response.content = chaos_mod.GARBAGE


def _note(flow: http.HTTPFlow, action: chaos_mod.Action) -> None:
    flow.marked = ":fire:"
    note = "chaos " + " ".join(action.specs)
    flow.comment = f"{note} | {flow.comment}" if flow.comment else note
