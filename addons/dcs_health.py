"""Is the DCS up? A connection failure says no at once; a small probe says when it is back.

While the DCS is down, the edge answers visitors itself (fail-open) instead of handing them
mitmproxy's 502 page or a hung connection.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from edge.enrich.transport import LeanTransport

log = logging.getLogger("edge.proxy")

PROBE_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 0.5


class DcsHealth:
    def __init__(self, dcs_url: str) -> None:
        self.dcs = dcs_url
        self.url = dcs_url.rstrip("/") + "/healthz"
        self.up = True
        self.since = time.time()
        self._task: asyncio.Task[None] | None = None

    def mark_down(self, reason: str) -> None:
        if self.up:
            log.warning("DCS down (%s): answering visitors at the edge until it is back", reason)
        self.up = False
        self.since = time.time()

    def _mark_up(self) -> None:
        if not self.up:
            log.warning("DCS is back")
        self.up = True
        self.since = time.time()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._probe())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _probe(self) -> None:
        # the edge's lean transport for plain http: httpcore's pool cost about 3% of a core
        # for two probes a second
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, transport=LeanTransport()) as client:
            while True:
                try:
                    ok = (await client.get(self.url)).status_code == 200
                except httpx.HTTPError as e:
                    ok = False
                    reason = type(e).__name__
                else:
                    reason = "health check failed"
                if ok:
                    self._mark_up()
                else:
                    self.mark_down(reason)
                await asyncio.sleep(PROBE_INTERVAL_S)
