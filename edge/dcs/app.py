"""The DCS as a Starlette app: ``create_app(config)`` and the ``app_from_env()`` factory.

Routes:

- ``/event`` GET, POST (``application/x-www-form-urlencoded``) and the ``OPTIONS`` preflight
  (``edge.dcs.event``); CORS headers only for ``dcs.allowed_origins``.
- ``/id`` GET and ``OPTIONS``: the ID service call (``edge.dcs.idservice``).
- ``/ibs:...``, ``/ibs?...`` and ``/demoptout.jpg`` / ``/demoptout`` (``edge.dcs.sync``).
- ``/dest5.html`` and ``/tag.js``: the files of the ``edge/tag`` folder, 404 when absent.
- ``/internal/visitor`` (``edge.contracts.internal``; requires the internal token; the
  optional ``tenant`` parameter names the tenant, 404 for an unknown one).

Each public endpoint serves the tenant of the request's host (``edge.dcs.tenancy``); a host
no tenant serves is answered with error 1. ``app.state.tenants`` maps tenant names to their
state, ``app.state.config`` is the whole config, ``app.state.dcs`` the first tenant's state
(the only one without ``[[tenants]]``).
- ``/healthz``: ``{"status": "ok", "envelopes": {<outcome>: <count>}}``.

``app_from_env()`` reads the config path from ``$EDGE_CONFIG`` (for ``uvicorn --factory``
with several workers); it is the only place the DCS reads the environment. The store
named by ``dcs.store`` is opened when no store is given, and closed at shutdown.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from edge import runtime
from edge.config import Config, load
from edge.contracts import internal
from edge.contracts.ids import is_uuid
from edge.dcs import responses as R
from edge.dcs import tenancy
from edge.dcs.event import event
from edge.dcs.idservice import id_service
from edge.dcs.state import DcsState
from edge.dcs.sync import demoptout, ibs
from edge.profiles import ProfileStore, StoreError

CONFIG_ENV = "EDGE_CONFIG"
TAG_DIR = Path(__file__).resolve().parent.parent / "tag"
_TAG_TYPES = {
    "dest5.html": "text/html; charset=utf-8",
    "tag.js": "application/javascript; charset=utf-8",
}


def create_app(
    config: Config,
    *,
    store: ProfileStore | None = None,
    clock: Callable[[], float] = time.time,
    tag_dir: Path | None = None,
) -> Starlette:
    """The DCS for `config`; `store` defaults to ``open_store(config.dcs.store)``.

    A tenant with its own ``dcs.store`` URL gets its own store, opened here.
    """
    states, opened = tenancy.build_states(config, store, clock)
    folder = tag_dir or TAG_DIR

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for owned in opened:
                owned.close()

    async def tag_file(request: Request) -> Response:
        name = str(request.scope["path"]).rsplit("/", 1)[-1]
        path = folder / name
        if name not in _TAG_TYPES or not path.is_file():
            return Response("not found", status_code=404)
        return FileResponse(path, media_type=_TAG_TYPES[name],
                            headers={"Cache-Control": "public, max-age=3600"})

    app = Starlette(
        routes=[
            Route("/event", event, methods=["GET", "POST"]),
            Route("/event", _preflight, methods=["OPTIONS"]),
            Route("/id", id_service, methods=["GET"]),
            Route("/id", _preflight, methods=["OPTIONS"]),
            Route("/demoptout.jpg", demoptout, methods=["GET"]),
            Route("/demoptout", demoptout, methods=["GET"]),
            Route("/dest5.html", tag_file, methods=["GET"]),
            Route("/tag.js", tag_file, methods=["GET"]),
            Route(internal.VISITOR_PATH, _visitor, methods=["GET"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/ibs{rest:path}", ibs, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.dcs = next(iter(states.values()))
    app.state.tenants = states
    app.state.config = config
    return app


async def _preflight(request: Request) -> Response:
    state = tenancy.state_for(request)
    if state is None:
        return Response(status_code=403, headers={"Vary": "Origin"})
    return R.preflight(request.headers, state.config.dcs.allowed_origins)


async def _healthz(request: Request) -> Response:
    state: DcsState = request.app.state.dcs
    return JSONResponse({"status": "ok", "envelopes": state.counters()})


async def _visitor(request: Request) -> Response:
    """``GET /internal/visitor?uuid=|mid=[&tenant=]`` for the edge (edge.contracts.internal)."""
    first: DcsState = request.app.state.dcs
    if not internal.check(first.config.secret, request.headers.get(internal.TOKEN_HEADER)):
        return JSONResponse({"error": "forbidden"}, status_code=403)
    name = request.query_params.get("tenant")
    state = first if name is None else request.app.state.tenants.get(name)
    if state is None:
        return JSONResponse({"error": "unknown tenant"}, status_code=404)
    uuid, mid = request.query_params.get("uuid"), request.query_params.get("mid")
    try:
        found = await run_in_threadpool(_lookup, state, uuid, mid)
    except StoreError:
        return JSONResponse({"error": "profile store unavailable"}, status_code=503)
    return JSONResponse(found)


def _lookup(state: DcsState, uuid: str | None, mid: str | None) -> dict[str, object]:
    store = state.store
    if not is_uuid(uuid):
        uuid = store.resolve("mid", mid) if mid else None
    if uuid is None:
        return {"uuid": None, "partner_ids": {}, "opted_out": False}
    profile = store.load(uuid)
    ids = profile.partner_ids if profile is not None else {}
    return {
        "uuid": uuid,
        "partner_ids": {str(dpid): dpuuid for dpid, dpuuid in sorted(ids.items())},
        "opted_out": store.is_opted_out(uuid),
    }


def app_from_env() -> Starlette:
    """``create_app(load($EDGE_CONFIG))``, for ``uvicorn --factory edge.dcs.app:app_from_env``."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise RuntimeError(f"${CONFIG_ENV} must name the deployment's TOML config file")
    app = create_app(load(path))
    runtime.freeze_startup()  # this is a server process's start-up (uvicorn's factory)
    return app
