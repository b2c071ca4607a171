from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from edge.contracts import internal
from edge.enrich import Enricher
from edge.enrich.identity import Visitor, VisitorLookup, budget_s, parse_visitor
from tests.enrich._support import SECRET, UUID, FakeClock, World, config, provider


@pytest.mark.parametrize(
    "deadline_ms, expected", [(100, 0.020), (40, 0.010), (1000, 0.020), (8, 0.002)]
)
def test_budget(deadline_ms: int, expected: float) -> None:
    assert budget_s(deadline_ms) == pytest.approx(expected)


@pytest.mark.parametrize(
    "doc, expected",
    [
        ({"uuid": UUID, "partner_ids": {"7": "x"}, "opted_out": False},
         Visitor(UUID, {7: "x"}, False)),
        ({"uuid": None}, Visitor(None, {}, False)),
        ({"uuid": UUID, "partner_ids": {"7": ""}, "opted_out": True}, Visitor(UUID, {}, True)),
        ({"uuid": 5}, None),
        ({"uuid": UUID, "partner_ids": []}, None),
        ({"uuid": UUID, "partner_ids": {"seven": "x"}}, None),
        ({"uuid": UUID, "opted_out": "no"}, None),
        ([], None),
    ],
)
def test_parse_visitor(doc: Any, expected: Visitor | None) -> None:
    assert parse_visitor(doc) == expected


def dcs(world: World, delay_s: float = 0.0, status: int = 200) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if delay_s:
            await asyncio.sleep(delay_s)
        if not internal.check(SECRET, request.headers.get(internal.TOKEN_HEADER)):
            return httpx.Response(403)
        ids = {"7": "dp7"} if request.url.params.get("uuid") == UUID else {}
        return httpx.Response(status, json={"uuid": UUID, "partner_ids": ids, "opted_out": False})

    world.on("dcs.test", handler)
    return seen


def lookup(world: World, clock: FakeClock, steps: Any) -> list[Visitor | None]:
    async def main() -> list[Visitor | None]:
        v = VisitorLookup("http://dcs.test/", SECRET, ttl_s=300, clock=clock)
        out = []
        async with world.client() as http:
            for kw, advance in steps:
                clock.advance(advance)
                out.append(await v.lookup(http, budget_s=1.0, **kw))
        await v.aclose()
        return out

    return asyncio.run(main())


def test_lookup_by_uuid_is_cached_for_the_ttl() -> None:
    world, clock = World(), FakeClock()
    seen = dcs(world)
    got = lookup(world, clock, [({"uuid": UUID}, 0), ({"uuid": UUID}, 299), ({"uuid": UUID}, 2)])
    assert got == [Visitor(UUID, {7: "dp7"}, False)] * 3
    assert len(seen) == 2
    assert seen[0].url.path == internal.VISITOR_PATH and seen[0].url.params["uuid"] == UUID


def test_lookup_without_partner_ids_is_cached_briefly() -> None:
    world, clock = World(), FakeClock()
    seen = dcs(world)
    lookup(world, clock, [({"mid": "m1"}, 0), ({"mid": "m1"}, 4), ({"mid": "m1"}, 2)])
    assert len(seen) == 2
    assert seen[0].url.params["mid"] == "m1"


@pytest.mark.parametrize("status", [403, 404, 500])
def test_failures_read_as_unknown(status: int) -> None:
    world, clock = World(), FakeClock()
    seen = dcs(world, status=status)
    assert lookup(world, clock, [({"uuid": UUID}, 0), ({"uuid": UUID}, 0)]) == [None, None]
    assert len(seen) == 2  # failures are not cached


def test_unreachable_dcs_reads_as_unknown() -> None:
    world, clock = World(), FakeClock()

    async def down(_r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    world.on("dcs.test", down)
    assert lookup(world, clock, [({"uuid": UUID}, 0), ({}, 0)]) == [None, None]


def test_enricher_identify_is_bounded_and_a_late_answer_is_cached() -> None:
    world = World()
    seen = dcs(world, delay_s=0.1)
    cfg = config(provider("a", 7, needs_dpuuid=True), deadline_ms=40)  # budget 10 ms

    async def main() -> tuple[Visitor | None, Visitor | None]:
        e = Enricher(cfg, client=world.client())
        first = await e.identify(uuid=UUID)
        await asyncio.sleep(0.2)
        second = await e.identify(uuid=UUID)
        await e.aclose()
        return first, second

    first, second = asyncio.run(main())
    assert first is None
    assert second == Visitor(UUID, {7: "dp7"}, False)
    assert len(seen) == 1
