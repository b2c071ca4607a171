"""Recording: option ``edge_record`` writes the DCS flows (only those) to a mitmproxy flow file.

Every flow the edge routed to the DCS (event, iframe, tag and the other DCS paths) is written
once it is answered (or has failed), with its enrichment trace in ``flow.metadata["edge"]``,
so a session can be replayed later (``mitmdump -r``, ``replay.client.file``, or
``python -m addons.replay``). A path starting with ``+`` appends to the file.
"""

from __future__ import annotations

import logging
from typing import IO, Any

from mitmproxy import ctx, exceptions, http, io

log = logging.getLogger("edge.record")

DCS_ROUTES = frozenset({"event", "iframe", "tag", "dcs"})


def is_dcs_flow(flow: Any) -> bool:
    return isinstance(flow, http.HTTPFlow) and flow.metadata.get("edge_route") in DCS_ROUTES


class Record:
    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._writer: io.FlowWriter | None = None
        self.written = 0

    def load(self, loader: Any) -> None:
        loader.add_option(
            "edge_record", str | None, None,
            "Write the DCS flows to this mitmproxy flow file ('+path' appends).",
        )

    def configure(self, updated: set[str]) -> None:
        if "edge_record" not in updated:
            return
        self._close()
        path = ctx.options.edge_record
        if not path:
            return
        mode = "ab" if path.startswith("+") else "wb"
        try:
            self._file = open(path.removeprefix("+"), mode)  # noqa: SIM115 - closed in _close
        except OSError as e:
            raise exceptions.OptionsError(f"edge_record: {e}") from None
        self._writer = io.FlowWriter(self._file)

    def response(self, flow: http.HTTPFlow) -> None:
        self._write(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:
            self._write(flow)

    def done(self) -> None:
        self._close()

    def _write(self, flow: http.HTTPFlow) -> None:
        if self._writer is None or self._file is None or not is_dcs_flow(flow):
            return
        try:
            self._writer.add(flow)
            self._file.flush()
            self.written += 1
        except (OSError, ValueError) as e:  # ValueError: metadata that is not plain data
            log.warning("edge_record: flow %s not written: %s", flow.id, e)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._writer = None, None
