"""edge_max_flows: the view keeps a bounded number of flows, dropping the oldest."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions
from mitmproxy.addons.view import View
from mitmproxy.test import taddons, tflow

from addons.retention import Retention, excess


@pytest.mark.parametrize(
    ("count", "bound", "n"),
    [(5, 0, 0), (10, 10, 0), (11, 10, 2), (100, 10, 91), (1001, 1000, 101)],
)
def test_excess(count: int, bound: int, n: int) -> None:
    assert excess(count, bound) == n


def test_the_oldest_finished_flows_go() -> None:
    view, ret = View(), Retention()
    with taddons.context(view, ret) as tctx:
        tctx.configure(ret, edge_max_flows=10)
        flows = [tflow.tflow(resp=True, live=False) for _ in range(12)]
        flows[0].live = True  # in flight: never removed
        view.add(flows)
        ret.response(flows[-1])
        kept = list(view._store)
    assert len(kept) == 9
    assert kept == [flows[0].id] + [f.id for f in flows[4:]]
    assert ret.removed == 3


def test_zero_keeps_everything_and_negative_is_refused() -> None:
    view, ret = View(), Retention()
    with taddons.context(view, ret) as tctx:
        view.add([tflow.tflow(resp=True, live=False) for _ in range(50)])
        ret.request(tflow.tflow())
        assert view.store_count() == 50
        with pytest.raises(exceptions.OptionsError, match=">= 0"):
            tctx.configure(ret, edge_max_flows=-1)


def test_without_a_view_nothing_happens() -> None:
    ret = Retention()
    with taddons.context(ret) as tctx:
        tctx.configure(ret, edge_max_flows=1)
        ret.response(tflow.tflow(resp=True))
    assert ret.removed == 0
