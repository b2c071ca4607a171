from __future__ import annotations

import asyncio

import pytest

from edge.enrich.singleflight import SingleFlight


def test_one_call_per_key_however_many_waiters() -> None:
    calls: list[str] = []

    async def call(k: str) -> str:
        calls.append(k)
        await asyncio.sleep(0.01)
        return k.upper()

    async def main() -> list[str]:
        sf: SingleFlight[str, str] = SingleFlight()

        async def one(k: str) -> str:
            task, _ = sf.start(k, lambda: call(k))
            return await sf.wait(task, 5)

        out = await asyncio.gather(*(one("a") for _ in range(20)), one("b"))
        assert len(sf) == 0  # finished calls leave
        return out

    out = asyncio.run(main())
    assert calls == ["a", "b"]
    assert out == ["A"] * 20 + ["B"]


def test_start_reports_joining() -> None:
    async def main() -> tuple[bool, bool]:
        sf: SingleFlight[str, int] = SingleFlight()
        t1, j1 = sf.start("k", lambda: asyncio.sleep(0.01, 1))
        t2, j2 = sf.start("k", lambda: asyncio.sleep(0.01, 2))
        assert t1 is t2
        await t1
        return j1, j2

    assert asyncio.run(main()) == (False, True)


def test_a_waiters_timeout_does_not_cancel_the_shared_call() -> None:
    finished: list[int] = []

    async def call() -> int:
        await asyncio.sleep(0.05)
        finished.append(1)
        return 1

    async def main() -> None:
        sf: SingleFlight[str, int] = SingleFlight()
        task, _ = sf.start("k", call)
        with pytest.raises(TimeoutError):
            await sf.wait(task, 0.001)
        assert not task.cancelled()
        assert await task == 1

    asyncio.run(main())
    assert finished == [1]


def test_cancelling_a_waiter_leaves_the_call_running() -> None:
    async def main() -> int:
        sf: SingleFlight[str, int] = SingleFlight()
        task, _ = sf.start("k", lambda: asyncio.sleep(0.02, 7))
        waiter = asyncio.create_task(sf.wait(task, 5))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        return await task

    assert asyncio.run(main()) == 7


def test_cancel_all() -> None:
    async def main() -> bool:
        sf: SingleFlight[str, int] = SingleFlight()
        task, _ = sf.start("k", lambda: asyncio.sleep(10, 1))
        await sf.cancel_all()
        return task.cancelled() and len(sf) == 0

    assert asyncio.run(main())
