"""The "DCS hit" content view: a DCS event hit decoded, with the edge's enrichment trace.

Chosen automatically (``render_priority``) for the request and the response of event hits:
flows the edge routed as ``event`` or that carry its trace (also in a recorded flow file). The
text comes from ``edge.debugview``; this module only reads the flow.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from mitmproxy import contentviews, http
from mitmproxy.contentviews import Metadata

from edge import debugview
from edge import trace as edge_trace

META = "edge"
PRIORITY = 3.0  # above the built-in json (and query) views


def is_dcs_hit(flow: Any) -> bool:
    if not isinstance(flow, http.HTTPFlow):
        return False
    md = flow.metadata
    return md.get("edge_route") == "event" or isinstance(md.get(META), dict)


def hit_view(flow: http.HTTPFlow, message: http.Message | None, data: bytes) -> debugview.HitView:
    req = flow.request
    pairs = list(req.query.items(multi=True))
    if req.method == "POST" and req.raw_content:
        # The DCS reads a POST body as a form whatever its content type; so does the view.
        pairs += parse_qsl(req.raw_content.decode("utf-8", "replace"), keep_blank_values=True)
    trace = flow.metadata.get(META)
    trace = trace if isinstance(trace, dict) else {}
    answer = trace.get("answer")
    is_response = isinstance(message, http.Response)
    if answer is None and is_response:
        answer = edge_trace.read_answer(data, message.headers.get("content-type", ""))
    return debugview.HitView(
        method=req.method,
        path=req.path.split("?", 1)[0],
        pairs=pairs,
        trace=trace,
        answer=answer,
        side="response" if is_response else "request",
        status=message.status_code if is_response else None,
    )


class DcsHitContentview(contentviews.Contentview):
    name = "DCS hit"  # type: ignore[assignment]
    syntax_highlight = "yaml"  # type: ignore[assignment]

    def prettify(self, data: bytes, metadata: Metadata) -> str:
        flow = metadata.flow
        if not is_dcs_hit(flow):
            raise ValueError("not a DCS event hit")
        return debugview.render(hit_view(flow, metadata.http_message, data))

    def render_priority(self, data: bytes, metadata: Metadata) -> float:
        return PRIORITY if is_dcs_hit(metadata.flow) else -1


VIEW = DcsHitContentview()


class DcsHitView:
    """Registers the view when loaded (re-registering the same name replaces it)."""

    def load(self, loader: Any) -> None:
        contentviews.add(VIEW)
