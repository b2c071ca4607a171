"""The "DCS hit" content view on recorded flows (tflow + the edge's metadata)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mitmproxy import contentviews
from mitmproxy.test import taddons

from addons.view import VIEW, DcsHitView

from ._flows import UUID, dcs_flow


@pytest.fixture(autouse=True)
def tctx() -> Iterator[taddons.context]:
    """Rendering reads mitmproxy's options; loading the addon registers the view."""
    with taddons.context(DcsHitView()) as tctx:
        yield tctx


@pytest.mark.parametrize("side", ["request", "response"])
def test_auto_picks_the_view_for_event_hits(side: str) -> None:
    f = dcs_flow()
    pretty = contentviews.prettify_message(getattr(f, side), f)
    assert pretty.view_name == "DCS hit"
    assert pretty.syntax_highlight == "yaml"
    lines = pretty.text.splitlines()
    assert f"  visitor: {UUID} (from cookie)" in lines
    assert "    p_email: <masked>" in lines
    assert "ann@x.test" not in pretty.text
    assert any(line.startswith("  acme") and "segments: sports" in line for line in lines)
    assert "  traits: 1, 102" in lines


def test_response_without_a_trace_answer_reads_the_body() -> None:
    f = dcs_flow(trace={"uuid": UUID, "providers": []})
    pretty = contentviews.prettify_message(f.response, f)
    assert pretty.view_name == "DCS hit"
    assert "  segments: 5009" in pretty.text.splitlines()
    assert pretty.text.startswith("DCS hit: GET /event -> 200\n")


def test_a_post_hit_shows_its_form_signals() -> None:
    body = b"c_page=cart&d_uuid=" + UUID.encode()
    f = dcs_flow("/event?d_rtbd=json", method="POST", content=body)
    f.request.headers["content-type"] = "text/plain"  # read as a form all the same, like the DCS
    text = contentviews.prettify_message(f.request, f).text.splitlines()
    assert "    c_page: cart" in text and f"  d_uuid: {UUID}" in text


@pytest.mark.parametrize(("route", "trace"), [("origin", None), ("iframe", None)])
def test_other_flows_keep_their_usual_view(route: str, trace: None) -> None:
    f = dcs_flow("/index.html?x=1", route=route, trace=trace)
    assert contentviews.prettify_message(f.request, f).view_name != "DCS hit"
    with pytest.raises(ValueError, match="not a DCS event hit"):
        VIEW.prettify(b"", contentviews.Metadata(flow=f, http_message=f.request))


def test_a_recorded_flow_without_route_but_with_a_trace_is_a_hit() -> None:
    f = dcs_flow()
    del f.metadata["edge_route"]
    assert contentviews.prettify_message(f.request, f).view_name == "DCS hit"
