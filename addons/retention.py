"""Flow retention: option ``edge_max_flows`` bounds the flows mitmweb and the console keep.

mitmweb and the console keep every flow until told otherwise (mitmdump keeps none). When the
view holds more than ``edge_max_flows`` flows, the oldest finished ones are removed, in one
batch down to 90% of the bound (so the scan is not paid on every flow). 0 keeps everything.
Flows still in flight are never removed (removing one would kill it).
"""

from __future__ import annotations

from typing import Any

from mitmproxy import ctx, exceptions, flow

LOW_WATER = 0.9


def excess(count: int, bound: int) -> int:
    """How many flows to remove from `count` kept under `bound` (0 = unbounded)."""
    if bound <= 0 or count <= bound:
        return 0
    return count - int(bound * LOW_WATER)


class Retention:
    def __init__(self) -> None:
        self.removed = 0

    def load(self, loader: Any) -> None:
        loader.add_option(
            "edge_max_flows", int, 0, "Keep at most this many flows in the UI (0: all)."
        )

    def configure(self, updated: set[str]) -> None:
        if "edge_max_flows" in updated:
            if ctx.options.edge_max_flows < 0:
                raise exceptions.OptionsError("edge_max_flows must be >= 0")
            self.trim()

    def request(self, f: flow.Flow) -> None:
        self.trim()

    def response(self, f: flow.Flow) -> None:
        self.trim()

    def error(self, f: flow.Flow) -> None:
        self.trim()

    def trim(self) -> None:
        view = ctx.master.addons.get("view")
        if view is None:
            return
        n = excess(view.store_count(), ctx.options.edge_max_flows)
        if not n:
            return
        oldest = [f for f in ctx.master.commands.call("view.flows.resolve", "@all") if not f.live]
        for f in oldest[:n]:
            view.remove([f])  # one at a time: a batch logs an alert per call
            self.removed += 1
