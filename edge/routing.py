"""Which paths of the public listener go where (pure; the addon applies the answer).

``classify(path, routes)`` returns one of:
- ``"internal"``: the DCS's internal surface; refused on the public listener.
- ``"event"``: a DCS hit to enrich (``/event``).
- ``"iframe"``: the destination iframe page; it starts provider lookups early.
- ``"tag"``: the page tag, served by the DCS.
- ``"dcs"``: any other DCS path (``/ibs:...``, opt-out, ``/id``).
- ``"origin"``: everything else, passed to the customer site untouched.
"""

from __future__ import annotations

from typing import Literal

from edge.config import Routes
from edge.contracts.internal import PATH_PREFIX

Route = Literal["internal", "event", "iframe", "tag", "dcs", "origin"]


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    for p in prefixes:
        if path == p or (path.startswith(p) and (p.endswith("/") or path[len(p)] in "/:?.")):
            return True
    return False


def classify(path: str, routes: Routes) -> Route:
    """The route of a request path (the query string, if any, is ignored)."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if path.startswith(PATH_PREFIX) or path.rstrip("/") == PATH_PREFIX.rstrip("/"):
        return "internal"
    if path in routes.event:
        return "event"
    if path in routes.iframe:
        return "iframe"
    if path in routes.tag:
        return "tag"
    if _matches(path, routes.dcs):
        return "dcs"
    return "origin"
