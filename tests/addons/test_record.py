"""edge_record: only DCS flows reach the file, with the edge's trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitmproxy import exceptions, io
from mitmproxy.test import taddons

from addons.record import Record

from ._flows import TRACE, dcs_flow


def _read(path: Path) -> list:
    with open(path, "rb") as f:
        return list(io.FlowReader(f).stream())


def test_writes_dcs_flows_only_with_their_trace(tmp_path: Path) -> None:
    out = tmp_path / "hits.flows"
    rec = Record()
    with taddons.context(rec) as tctx:
        tctx.configure(rec, edge_record=str(out))
        hit, tag, origin = dcs_flow(), dcs_flow("/tag.js", route="tag"), dcs_flow(route="origin")
        for f in (hit, tag, origin):
            rec.response(f)
        failed = dcs_flow(route="iframe")
        failed.response = None
        rec.error(failed)
        rec.done()
    flows = _read(out)
    assert [f.id for f in flows] == [hit.id, tag.id, failed.id]
    assert flows[0].metadata["edge"] == TRACE
    assert rec.written == 3


def test_plus_appends(tmp_path: Path) -> None:
    out = tmp_path / "hits.flows"
    rec = Record()
    with taddons.context(rec) as tctx:
        for _ in range(2):
            tctx.configure(rec, edge_record=f"+{out}")
            rec.response(dcs_flow())
            tctx.configure(rec, edge_record=None)
    assert len(_read(out)) == 2


def test_unwritable_path_is_an_options_error(tmp_path: Path) -> None:
    rec = Record()
    with taddons.context(rec) as tctx:
        with pytest.raises(exceptions.OptionsError, match="edge_record"):
            tctx.configure(rec, edge_record=str(tmp_path / "missing" / "x.flows"))


def test_unserializable_metadata_is_skipped_not_fatal(tmp_path: Path) -> None:
    out = tmp_path / "hits.flows"
    rec = Record()
    with taddons.context(rec) as tctx:
        tctx.configure(rec, edge_record=str(out))
        bad = dcs_flow()
        bad.metadata["oops"] = {1, 2}
        rec.response(bad)
        rec.response(dcs_flow())
        rec.done()
    assert rec.written == 1
