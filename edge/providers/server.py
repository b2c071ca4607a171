"""A reference segment provider: a real HTTP server speaking provider protocol v1.

It answers from a data file (``{"catalog": [...], "visitors": {"<uuid or dpuuid>": [ids]}}``)
and, for visitors the file does not know, from a deterministic hash of the visitor id over the
catalog, so every visitor of the demo gets some segments. Latency, jitter and a failure rate are
configurable; a control endpoint lets tests switch misbehaviour on and off at run time.

Routes:
- ``POST /segments``: protocol v1 (400 for a request that is not v1, 401 for a bad signature).
- ``GET /sync?uuid=<uuid>``: partner ID sync; redirects to ``<ibs_url>dpid=<dpid>&dpuuid=<id>``
  with this provider's own id for the visitor (derived from the uuid).
- ``POST /_control``: JSON ``{"latency_ms", "failure_rate", "mode"}`` where mode is one of
  ``ok, hang, error, garbage, reset, huge, wrong_types, empty``; ``GET /_stats``: call counts.
- ``GET /pixel``: a URL-destination target (records the query).
- ``GET /healthz``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from edge.contracts.provider_protocol import SIGNATURE_HEADER, signature

PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f9040100000000"
    "2c000000000100010000020144003b"
)
MODES = ("ok", "hang", "error", "garbage", "reset", "huge", "wrong_types", "empty")


@dataclass
class Behaviour:
    latency_ms: int = 0
    jitter_ms: int = 0
    failure_rate: float = 0.0
    mode: str = "ok"


@dataclass
class ProviderState:
    name: str
    dpid: int
    catalog: Sequence[str]
    visitors: Mapping[str, Sequence[str]] = field(default_factory=dict)
    secret: bytes | None = None
    ibs_url: str | None = None
    ttl_s: int | None = 300
    behaviour: Behaviour = field(default_factory=Behaviour)
    calls: int = 0
    pixels: list[str] = field(default_factory=list)  # URL-destination hits seen (last 100)
    rng: random.Random = field(default_factory=random.Random)

    def segments_for(self, uuid: str, dpuuid: str | None) -> list[str]:
        for key in (dpuuid, uuid):
            if key and key in self.visitors:
                return list(self.visitors[key])
        if not self.catalog:
            return []
        digest = hashlib.sha256(f"{self.name}:{uuid}".encode()).digest()
        count = 1 + digest[0] % min(3, len(self.catalog))
        picks: list[str] = []
        for i in range(count):
            seg = self.catalog[digest[1 + i] % len(self.catalog)]
            if seg not in picks:
                picks.append(seg)
        return picks

    def own_id(self, uuid: str) -> str:
        return self.name[:3] + hashlib.sha256(f"{self.name}/{uuid}".encode()).hexdigest()[:16]


def load_data(path: str | Path) -> tuple[list[str], dict[str, list[str]]]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return list(doc.get("catalog", [])), {k: list(v) for k, v in doc.get("visitors", {}).items()}


def create_app(state: ProviderState) -> Starlette:
    async def segments(request: Request) -> Response:
        state.calls += 1
        body = await request.body()
        if state.secret is not None:
            presented = request.headers.get(SIGNATURE_HEADER, "")
            expected = signature(state.secret, body).encode("ascii")
            if not hmac.compare_digest(presented.encode("latin-1"), expected):
                return PlainTextResponse("bad signature", status_code=401)
        try:
            doc = json.loads(body)
            if doc.get("v") != 1 or not isinstance(doc["user"]["uuid"], str):
                raise ValueError("not v1")
        except (ValueError, KeyError, TypeError, AttributeError):  # AttributeError: not an object
            return PlainTextResponse("not a protocol v1 request", status_code=400)
        b = state.behaviour
        delay = b.latency_ms + (state.rng.randint(0, b.jitter_ms) if b.jitter_ms else 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        mode = b.mode
        if b.failure_rate and state.rng.random() < b.failure_rate:
            mode = "error"
        return await _answer(state, mode, doc)

    async def sync(request: Request) -> Response:
        uuid = request.query_params.get("uuid", "")
        if not uuid or not state.ibs_url:
            return PlainTextResponse("missing uuid or no ibs_url", status_code=400)
        target = f"{state.ibs_url}dpid={state.dpid}&dpuuid={quote(state.own_id(uuid), safe='')}"
        return RedirectResponse(target, status_code=302)

    async def control(request: Request) -> Response:
        b = state.behaviour
        try:
            doc = await request.json()
            new = Behaviour(  # built whole first: a bad request changes nothing
                latency_ms=int(doc.get("latency_ms", b.latency_ms)),
                jitter_ms=int(doc.get("jitter_ms", b.jitter_ms)),
                failure_rate=float(doc.get("failure_rate", b.failure_rate)),
                mode=str(doc.get("mode", b.mode)),
            )
            if new.mode not in MODES:
                raise ValueError(new.mode)
        except (ValueError, TypeError, AttributeError):
            return PlainTextResponse(f"bad control; modes: {', '.join(MODES)}", status_code=400)
        state.behaviour = new
        if doc.get("reset_stats"):
            state.calls = 0
        return JSONResponse({"ok": True, **_behaviour(state)})

    async def stats(request: Request) -> Response:
        return JSONResponse(
            {"name": state.name, "calls": state.calls, "pixels": state.pixels, **_behaviour(state)}
        )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def pixel(request: Request) -> Response:
        state.pixels.append(str(request.url.query))
        del state.pixels[:-100]
        return Response(PIXEL, media_type="image/gif")

    return Starlette(
        routes=[
            Route("/segments", segments, methods=["POST"]),
            Route("/sync", sync),
            Route("/_control", control, methods=["POST"]),
            Route("/_stats", stats),
            Route("/healthz", healthz),
            Route("/pixel", pixel),
        ]
    )


class _Truncated(Response):
    """Promises a body it never sends: the server drops the connection mid-response."""

    def __init__(self) -> None:
        super().__init__(b"", media_type="application/json")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"segm', "more_body": False})


def _behaviour(state: ProviderState) -> dict[str, Any]:
    b = state.behaviour
    return {"latency_ms": b.latency_ms, "failure_rate": b.failure_rate, "mode": b.mode}


async def _answer(state: ProviderState, mode: str, doc: dict[str, Any]) -> Response:
    if mode == "hang":
        await asyncio.sleep(3600)
    if mode == "error":
        return PlainTextResponse("provider error", status_code=500)
    if mode == "garbage":
        return Response(b"<html>not json", media_type="application/json")
    if mode == "reset":
        return _Truncated()
    if mode == "huge":
        return Response(b'{"segments": [' + b'{"id":"x"},' * 60000 + b'{"id":"y"}]}',
                        media_type="application/json")
    if mode == "wrong_types":
        return JSONResponse({"segments": [{"id": 5.5, "status": "yes"}], "ttl_s": "soon"})
    user = doc["user"]
    ids = [] if mode == "empty" else state.segments_for(user["uuid"], user.get("dpuuid"))
    if not ids:
        return Response(status_code=204)
    out: dict[str, Any] = {"segments": [{"id": i, "status": 1} for i in ids]}
    if state.ttl_s is not None:
        out["ttl_s"] = state.ttl_s
    return JSONResponse(out)
