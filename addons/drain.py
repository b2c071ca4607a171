"""Graceful drain: on shutdown, stop accepting, let in-flight flows finish (bounded), then stop.

mitmproxy cuts in-flight requests on SIGTERM; a public edge must not. ``Drain.begin()`` is what
the runner calls on SIGTERM/SIGINT; option ``edge_drain_s`` bounds the wait.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mitmproxy import ctx, http

log = logging.getLogger("edge.proxy")


class Drain:
    def __init__(self) -> None:
        self.inflight: set[str] = set()
        self.draining = False

    def load(self, loader: Any) -> None:
        loader.add_option("edge_drain_s", int, 10, "Seconds to let in-flight flows finish.")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self.inflight.add(flow.id)

    def response(self, flow: http.HTTPFlow) -> None:
        self.inflight.discard(flow.id)

    def error(self, flow: http.HTTPFlow) -> None:
        self.inflight.discard(flow.id)

    async def begin(self) -> None:
        if self.draining:
            return
        self.draining = True
        ctx.options.update(server=False)  # close the listeners; open connections carry on
        deadline = asyncio.get_running_loop().time() + ctx.options.edge_drain_s
        while self.inflight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        if self.inflight:
            log.warning("drain: %d flows still in flight at the deadline", len(self.inflight))
        ctx.master.shutdown()
