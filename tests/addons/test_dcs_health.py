"""DCS health: marked down at once, back up when the probe sees /healthz answer 200."""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import Callable

import httpx
import pytest

from addons import dcs_health
from addons.dcs_health import DcsHealth


def test_url_and_marks(caplog: pytest.LogCaptureFixture) -> None:
    health = DcsHealth("http://dcs.test:8081/")
    assert health.url == "http://dcs.test:8081/healthz" and health.up
    with caplog.at_level(logging.WARNING, logger="edge.proxy"):
        health.mark_down("refused")
        health.mark_down("refused again")
    assert not health.up
    assert [r.getMessage() for r in caplog.records] == [
        "DCS down (refused): answering visitors at the edge until it is back"
    ]  # logged once per outage


Handler = Callable[[httpx.Request], httpx.Response]


def probe_until(handler: Handler, start_up: bool, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run the probe until it has asked twice; the health's `up` afterwards."""
    asked: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return handler(request)

    def client(**kw: object) -> httpx.AsyncClient:
        kw.pop("transport", None)  # the probe's own (lean) transport: replaced by the mock
        return httpx.AsyncClient(transport=httpx.MockTransport(record), **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(dcs_health, "httpx",
                        types.SimpleNamespace(AsyncClient=client, HTTPError=httpx.HTTPError))
    monkeypatch.setattr(dcs_health, "PROBE_INTERVAL_S", 0)

    async def main() -> bool:
        health = DcsHealth("http://dcs.test:8081")
        if not start_up:
            health.mark_down("test")
        health.start()
        for _ in range(1000):
            if len(asked) >= 2:
                break
            await asyncio.sleep(0)
        health.stop()
        await asyncio.sleep(0)
        assert asked[0] == "http://dcs.test:8081/healthz"
        return health.up

    return asyncio.run(main())


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.mark.parametrize(
    ("handler", "start_up", "up"),
    [
        pytest.param(lambda _r: httpx.Response(200), False, True, id="back-up"),
        pytest.param(lambda _r: httpx.Response(503), True, False, id="unhealthy"),
        pytest.param(_refuse, True, False, id="refused"),
    ],
)
def test_probe(handler: Handler, start_up: bool, up: bool,
               monkeypatch: pytest.MonkeyPatch) -> None:
    assert probe_until(handler, start_up, monkeypatch) is up
