"""Hook dispatch for the lean runner: mitmproxy's addon manager with a table per hook name.

mitmproxy's ``AddonManager`` finds the handlers of an event anew each time: for every addon in
the chain it walks the addon's children, looks the hook up by name, enters a context manager
that logs errors and awaits a coroutine, and for every flow hook it then does the same again
for the ``update`` event. On a proxy that handles four flow hooks per request this is a fixed
cost of every request that grows with the number of addons.

``TableAddonManager`` does the same calls in the same order with the same outcome, from a
table of bound handlers built on the first use of each hook name and dropped whenever the
chain changes (``add``, ``register``, ``remove``):

- handlers run in chain order, children after their parent (mitmproxy's ``traverse``);
- a coroutine returned by a handler is awaited before the next handler runs;
- an exception from a handler is logged as mitmproxy logs it ("Addon error: ...") and the
  remaining handlers still run; ``AddonHalt`` stops the event; ``OptionsError`` propagates;
- ``update`` follows a flow hook only when some addon handles ``update``.

Addons whose set of children changes at run time (mitmproxy's script loader) are not in the
lean runner's chain; the table would not see such a change until the chain changes.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable
from typing import Any

from mitmproxy import addonmanager, exceptions, flow, hooks


def _handlers(chain: list[Any], name: str) -> tuple[Callable[..., Any], ...]:
    found: list[Callable[..., Any]] = []
    for addon in addonmanager.traverse(chain):
        func = getattr(addon, name, None)
        if not func or isinstance(func, types.ModuleType):
            continue  # mitmproxy skips module imports that share a hook's name
        if not callable(func):
            raise exceptions.AddonManagerError(f"Addon handler {name} ({addon}) not callable")
        found.append(func)
    return tuple(found)


class TableAddonManager(addonmanager.AddonManager):
    def __init__(self, master: Any) -> None:
        super().__init__(master)
        self._table: dict[str, tuple[Callable[..., Any], ...]] = {}

    def register(self, addon: Any) -> Any:
        self._table.clear()
        return super().register(addon)

    def add(self, *addons: Any) -> None:
        super().add(*addons)  # registers each (which clears the table), then chains them
        self._table.clear()

    def remove(self, addon: Any) -> None:
        super().remove(addon)
        self._table.clear()

    def handlers(self, name: str) -> tuple[Callable[..., Any], ...]:
        """The bound handlers of hook `name`, in dispatch order."""
        found = self._table.get(name)
        if found is None:
            found = self._table[name] = _handlers(self.chain, name)
        return found

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        await self.trigger_event(event)
        if self.handlers("update"):
            message = event.args()[0]
            if isinstance(message, flow.Flow):
                await self.trigger_event(hooks.UpdateHook([message]))

    async def trigger_event(self, event: hooks.Hook) -> None:
        funcs = self.handlers(event.name)
        if not funcs:
            return
        args = event.args()
        for func in funcs:
            try:
                res = func(*args)
                if res is not None and inspect.isawaitable(res):
                    await res
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception:
                _log_error()


def _log_error() -> None:
    """What mitmproxy's ``safecall`` logs for an addon that raised."""
    etype, value, tb = sys.exc_info()
    tb = addonmanager.cut_traceback(tb, "trigger_event")
    assert etype is not None and value is not None
    addonmanager.logger.error(f"Addon error: {value}", exc_info=(etype, value, tb))
