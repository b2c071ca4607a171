"""Which public paths go to the DCS, which to the origin, and which are refused."""

from __future__ import annotations

import pytest

from edge.config import Routes
from edge.routing import classify

DEFAULT = Routes()


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/internal/visitor", "internal"),
        ("/internal/visitor?uuid=1", "internal"),
        ("/internal/", "internal"),
        ("/internal", "internal"),
        ("/internal?x=1", "internal"),
        ("/event", "event"),
        ("/event?d_rtbd=json&c_page=home", "event"),
        ("/event#frag", "event"),
        ("/dest5.html", "iframe"),
        ("/dest5.html?d_nsid=0#https%3A%2F%2Fsite.test", "iframe"),
        ("/tag.js", "tag"),
        ("/tag.js?v=2", "tag"),
        ("/ibs:dpid=1001&dpuuid=abc", "dcs"),
        ("/ibs/dpid=1001", "dcs"),
        ("/ibs", "dcs"),
        ("/demoptout.jpg", "dcs"),
        ("/id?d_visid_ver=1", "dcs"),
        ("/id/rd", "dcs"),
        ("/event/", "dcs"),
        ("/", "origin"),
        ("/index.html", "origin"),
        ("/shoes.html?c=1", "origin"),
        ("/events", "origin"),
        ("/ibsx", "origin"),
        ("/identity", "origin"),
        ("/tag.json", "origin"),
        ("/internals/page", "origin"),
        ("/shop/internal/visitor", "origin"),
    ],
)
def test_default_routes(path: str, route: str) -> None:
    assert classify(path, DEFAULT) == route


CUSTOM = Routes(event=("/e",), iframe=("/frame.html",), tag=("/t.js",), dcs=("/e", "/aam/"))


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/e?c_page=x", "event"),
        ("/frame.html", "iframe"),
        ("/t.js", "tag"),
        ("/aam/ibs:dpid=1", "dcs"),
        ("/aam/", "dcs"),
        ("/aam", "origin"),  # the prefix ends with '/', so only paths below it
        ("/event", "origin"),
        ("/dest5.html", "origin"),
        ("/internal/visitor", "internal"),  # refused whatever the routes say
    ],
)
def test_configured_routes(path: str, route: str) -> None:
    assert classify(path, CUSTOM) == route


def test_internal_wins_even_when_routed_to_the_dcs() -> None:
    routes = Routes(dcs=("/internal", "/event"))
    assert classify("/internal/visitor", routes) == "internal"
