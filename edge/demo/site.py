"""The demo customer site: a small shoe shop whose pages carry the edge tag.

``create_site()`` serves the files of the ``site`` folder next to this module (``index.html``,
``shoes.html``, ``site.css``, ``site.js``, ``segments.json``, ``banners.json``) and answers
``GET /healthz`` with ``ok``. The pages load ``/tag.js``, which the edge routes to the DCS;
the site itself never serves it.

- ``segments.json`` maps a segment id (as a string) to the name the page shows.
- ``banners.json`` is a list of ``{"sid", "text"}`` in priority order: the page shows the
  first banner whose segment the visitor is in.

Both default to the files, which match the packaged demo config; pass ``segment_names`` or
``banners`` to serve other values (for another config) without editing files. Errors: none
of its own; a missing ``root`` folder raises Starlette's ``RuntimeError`` at creation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

SITE_DIR = Path(__file__).parent / "site"


def create_site(
    root: str | Path | None = None,
    *,
    segment_names: Mapping[int, str] | None = None,
    banners: Sequence[tuple[int, str]] | None = None,
) -> Starlette:
    """The demo site as an ASGI app; `root` defaults to the packaged ``site`` folder."""
    routes: list[Route | Mount] = [Route("/healthz", _healthz)]
    if segment_names is not None:
        names = {str(sid): name for sid, name in segment_names.items()}
        routes.append(Route("/segments.json", _fixed_json(names)))
    if banners is not None:
        items = [{"sid": sid, "text": text} for sid, text in banners]
        routes.append(Route("/banners.json", _fixed_json(items)))
    static = StaticFiles(directory=Path(root) if root is not None else SITE_DIR, html=True)
    routes.append(Mount("/", app=static, name="site"))
    return Starlette(routes=routes)


async def _healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def _fixed_json(payload: object) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(payload)

    return endpoint
