"""The lean runner's table dispatch against mitmproxy's own AddonManager, scenario by scenario.

Each scenario runs once under each manager (a real Master for both); the calls recorded, the
errors logged and the exceptions raised must be the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from mitmproxy import addonmanager, exceptions, hooks, http, options
from mitmproxy.master import Master
from mitmproxy.proxy import server_hooks
from mitmproxy.test import tflow

from addons.dispatch import TableAddonManager

Calls = list[str]


class Plain:
    def __init__(self, name: str, calls: Calls) -> None:
        self.name, self.calls = name, calls

    def request(self, flow: http.HTTPFlow) -> None:
        self.calls.append(f"{self.name}.request")


class Async:
    def __init__(self, name: str, calls: Calls) -> None:
        self.name, self.calls = name, calls

    async def request(self, flow: http.HTTPFlow) -> None:
        await asyncio.sleep(0)
        self.calls.append(f"{self.name}.request(async)")


class Parent:
    def __init__(self, name: str, calls: Calls, children: list[Any]) -> None:
        self.name, self.calls, self.addons = name, calls, children

    def request(self, flow: http.HTTPFlow) -> None:
        self.calls.append(f"{self.name}.request")


class Raises:
    def __init__(self, name: str, calls: Calls, exc: Exception) -> None:
        self.name, self.calls, self.exc = name, calls, exc

    def request(self, flow: http.HTTPFlow) -> None:
        self.calls.append(f"{self.name}.request")
        raise self.exc


class Updates:
    def __init__(self, name: str, calls: Calls) -> None:
        self.name, self.calls = name, calls

    def update(self, flows: list[Any]) -> None:
        self.calls.append(f"{self.name}.update({len(flows)})")


class NotCallable:
    name = "notcallable"
    request = 3


Scenario = Callable[[Calls], list[Any]]

SCENARIOS: dict[str, Scenario] = {
    "order": lambda c: [Plain("a", c), Async("b", c), Plain("c", c)],
    "children after parent": lambda c: [
        Parent("p", c, [Plain("p1", c), Parent("p2", c, [Async("p21", c)])]), Plain("z", c),
    ],
    "error logged, the rest still run": lambda c: [
        Plain("a", c), Raises("bad", c, RuntimeError("boom")), Plain("c", c),
    ],
    "halt stops the event": lambda c: [
        Plain("a", c), Raises("halt", c, exceptions.AddonHalt()), Plain("c", c),
    ],
    "update after a flow hook": lambda c: [Plain("a", c), Updates("u", c)],
    "nobody handles it": lambda c: [Updates("u", c)],
}


def _run(manager: type[addonmanager.AddonManager], scenario: Scenario,
         caplog: pytest.LogCaptureFixture) -> tuple[Calls, list[str]]:
    calls: Calls = []

    async def main() -> None:
        master = _master(manager)
        master.addons.add(*scenario(calls))
        await master.addons.handle_lifecycle(  # not a flow hook: no update after it
            server_hooks.ClientConnectedHook(tflow.tclient_conn()))
        calls.append("--")
        await master.addons.handle_lifecycle(_request_hook())
        master._legacy_log_events.uninstall()

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger=addonmanager.logger.name):
        asyncio.run(main())
    return calls, [r.getMessage() for r in caplog.records]


def _master(manager: type[addonmanager.AddonManager]) -> Master:
    master = Master(options.Options())
    master.addons = manager(master)
    return master


def _request_hook() -> hooks.Hook:
    from mitmproxy.proxy.layers.http import HttpRequestHook

    return HttpRequestHook(tflow.tflow())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_calls_and_logs_as_mitmproxy(name: str, caplog: pytest.LogCaptureFixture) -> None:
    expected = _run(addonmanager.AddonManager, SCENARIOS[name], caplog)
    got = _run(TableAddonManager, SCENARIOS[name], caplog)
    assert got == expected
    assert any(".request" in c for c in got[0]) or name == "nobody handles it"


def test_error_is_logged_with_the_addon_message(caplog: pytest.LogCaptureFixture) -> None:
    calls, logs = _run(TableAddonManager, SCENARIOS["error logged, the rest still run"], caplog)
    assert logs == ["Addon error: boom"]
    assert calls[-1] == "c.request"


def test_options_error_propagates() -> None:
    calls: Calls = []

    async def main() -> None:
        master = _master(TableAddonManager)
        master.addons.add(Raises("opt", calls, exceptions.OptionsError("bad option")))
        with pytest.raises(exceptions.OptionsError, match="bad option"):
            await master.addons.handle_lifecycle(_request_hook())

    asyncio.run(main())


def test_not_callable_handler_is_refused_like_mitmproxy() -> None:
    async def main() -> None:
        master = _master(TableAddonManager)
        master.addons.add(NotCallable())
        with pytest.raises(exceptions.AddonManagerError, match="not callable"):
            await master.addons.handle_lifecycle(_request_hook())

    asyncio.run(main())


def test_table_follows_chain_changes() -> None:
    calls: Calls = []

    async def main() -> None:
        master = _master(TableAddonManager)
        first = Plain("a", calls)
        master.addons.add(first)
        await master.addons.handle_lifecycle(_request_hook())
        master.addons.add(Plain("b", calls))
        await master.addons.handle_lifecycle(_request_hook())
        master.addons.remove(first)
        await master.addons.handle_lifecycle(_request_hook())

    asyncio.run(main())
    assert calls == ["a.request", "a.request", "b.request", "b.request"]
