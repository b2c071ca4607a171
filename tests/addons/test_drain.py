"""Graceful drain: in-flight flows are tracked; begin() closes listeners, waits, shuts down."""

from __future__ import annotations

import asyncio

from mitmproxy.test import taddons, tflow

from addons.drain import Drain


def test_inflight_tracking() -> None:
    drain = Drain()
    a, b, c = tflow.tflow(), tflow.tflow(), tflow.tflow()
    for f in (a, b, c):
        drain.requestheaders(f)
    drain.response(a)
    drain.error(b)
    assert drain.inflight == {c.id}


def test_begin_waits_for_inflight_then_shuts_down() -> None:
    async def main() -> None:
        drain = Drain()
        with taddons.context(drain) as tctx:
            tctx.configure(drain, edge_drain_s=5)
            f = tflow.tflow()
            drain.requestheaders(f)
            task = asyncio.create_task(drain.begin())
            await asyncio.sleep(0.05)
            assert drain.draining and not tctx.options.server
            assert not task.done() and not tctx.master.should_exit.is_set()
            drain.response(f)
            await asyncio.wait_for(task, 5)
            await asyncio.sleep(0)  # shutdown() is scheduled with call_soon_threadsafe
            assert tctx.master.should_exit.is_set()
            await drain.begin()  # a second signal changes nothing

    asyncio.run(main())


def test_begin_gives_up_at_the_deadline() -> None:
    async def main() -> None:
        drain = Drain()
        with taddons.context(drain) as tctx:
            tctx.configure(drain, edge_drain_s=0)
            drain.requestheaders(tflow.tflow())
            await asyncio.wait_for(drain.begin(), 5)
            await asyncio.sleep(0)
            assert tctx.master.should_exit.is_set() and drain.inflight

    asyncio.run(main())
