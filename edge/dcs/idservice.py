"""``/id``: the Experience Cloud ID service call VisitorAPI makes before anything else.

Request (GET, query string): ``d_visid_ver``, ``d_fieldgroup``, ``d_rtbd=json``, ``d_ver=2``,
``d_orgid``, ``d_nsid``, ``d_mid``, declared ids (``d_cid``, ``d_cid_ic``), ``d_coppa``,
``d_blob``, ``gdpr`` / ``gdpr_consent``, and ``d_cb`` for JSONP (without it the answer is
JSON with credentialed CORS headers for the tenant's ``dcs.allowed_origins``). The answer is
always the ``d_ver=2`` JSON object::

    {"d_mid": "<38 digits>", "dcs_region": 7, "id_sync_ttl": 604800, "d_blob": "...",
     "d_ottl": 7200, "ibs": [{"id", "ttl", "tag", "url": [...], "fireURLSync", "syncOnPage"}],
     "subdomain": "<tenant>", "tid": "..."}

- ``d_mid``: the request's (a valid 38-digit one), else a new one the client keeps.
- The visitor (the DCS uuid): the cookie's, else the uuid ``d_mid`` or a declared id is
  linked to, else a new one. ``d_mid`` and the declared ids are then linked to it
  (``link("mid", mid, uuid)``), so an ``/event`` hit identified only by ``d_mid`` finds the
  profile; declared ids of known data sources are stored as partner ids. The visitor cookie
  is set, except with ``d_coppa``.
- ``ibs``: the tenant's providers with a ``sync_url`` the visitor has no partner id for
  (``%DID%`` is the uuid); none with ``d_coppa`` or without consent.
- ``d_blob``: the request's when it is 1 to 512 URL-safe characters, else a new one.
- ``subdomain``: the tenant's name (absent without tenants).

Stops (HTTP 200, nothing stored, no ``ibs``): a host no tenant serves (1, see
``edge.dcs.tenancy``); a ``d_orgid`` that is not the tenant's (2, ``error_msg`` and no
``d_mid``); an opted-out visitor (171, ``d_optout: ["global"]``, the cookie left alone);
``gdpr=1`` without consent (313/315, no cookie). A badly encoded query answers 311 alone;
store failures answer 503 (``X-Error: 0``).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from edge.contracts.ids import is_uuid, new_tid, new_uuid
from edge.dcs import consent, tenancy
from edge.dcs import errors as E
from edge.dcs import responses as R
from edge.dcs.destinations import MacroContext, id_syncs
from edge.dcs.errors import DcsError, ParamError
from edge.dcs.params import DcsRequest, parse_request
from edge.dcs.state import DcsState
from edge.dcs.wire import pairs
from edge.profiles import Profile, StoreError

log = logging.getLogger("edge.dcs")
OPT_OUT_TTL_S = 7200  # d_ottl: how long the client may cache the opt-out status
BLOB_MAX = 512
_BLOB = re.compile(rf"[A-Za-z0-9_-]{{1,{BLOB_MAX}}}")


@dataclass
class IdResult:
    mid: str
    uuid: str | None = None  # None: no visitor cookie to set
    errors: list[DcsError] = field(default_factory=list)
    partner_ids: dict[int, str] = field(default_factory=dict)
    opted_out: bool = False
    syncs: bool = False  # whether ID syncs may be offered


def run_id(state: DcsState, req: DcsRequest, cookie: str | None, now: float) -> IdResult:
    """The synchronous core of one ``/id`` call (it uses the store: run it in a thread)."""
    mid = req.mid or new_mid()
    result = IdResult(mid=mid, errors=list(req.errors))
    if cookie == R.NOTARGET:
        return _opted_out(result)
    store = state.store
    uuid = _known_uuid(state, req, cookie) or new_uuid()
    if store.is_opted_out(uuid):
        return _opted_out(result)
    cfg = state.config.dcs
    decision = consent.decide(req.gdpr, req.gdpr_consent, purposes=cfg.tcf_purposes,
                              vendor=cfg.tcf_vendor)
    if not decision.allowed:
        result.errors.append(E.error(decision.code or E.NO_CONSENT))
        return result
    declared = {d: c.id for c in req.cids if (d := state.dpid_of(c)) is not None and d > 0}

    def apply(profile: Profile) -> None:
        profile.partner_ids.update(declared)

    profile = store.update(uuid, apply, now=int(now))
    store.link("mid", mid, uuid, now=int(now))
    for cid in req.cids:
        store.link(cid.alias, cid.id, uuid, now=int(now))
    result.uuid, result.partner_ids = uuid, dict(profile.partner_ids)
    result.syncs = not req.coppa
    return result


def _known_uuid(state: DcsState, req: DcsRequest, cookie: str | None) -> str | None:
    """The cookie's visitor, else the one ``d_mid`` or a declared id is linked to."""
    if is_uuid(cookie):
        return cookie
    found = state.store.resolve("mid", req.mid) if req.mid else None
    for cid in req.cids:
        found = found or state.store.resolve(cid.alias, cid.id)
    return found


def _opted_out(result: IdResult) -> IdResult:
    result.opted_out = True
    result.errors.append(E.error(E.OPTED_OUT))
    return result


def new_mid() -> str:
    """A new Experience Cloud id: 38 digits, like the DCS uuid."""
    return new_uuid()


def blob(raw: bytes) -> str:
    """The request's ``d_blob`` when well-formed, else a new opaque one."""
    given = next((v for k, v in pairs(raw) if k == "d_blob"), "")
    if _BLOB.fullmatch(given):
        return given
    return secrets.token_urlsafe(24)


def body(state: DcsState, result: IdResult, *, blob_value: str, https: bool, req: DcsRequest,
         now: float) -> dict[str, Any]:
    cfg = state.config.dcs
    out: dict[str, Any] = {"d_mid": result.mid, "dcs_region": cfg.region,
                           "id_sync_ttl": cfg.id_sync_ttl_s, "d_blob": blob_value,
                           "d_ottl": OPT_OUT_TTL_S}
    if result.opted_out:
        out["d_optout"] = ["global"]
    if result.uuid and result.syncs:
        ctx = MacroContext(uuid=result.uuid, now=now, region=cfg.region, https=https,
                           mid=result.mid, partner_ids=result.partner_ids, gdpr=req.gdpr,
                           gdpr_consent=req.gdpr_consent)
        out["ibs"] = id_syncs(state.config.providers, ctx, ttl_s=cfg.id_sync_ttl_s)
    if state.tenant:
        out["subdomain"] = state.tenant
    return out


# -- HTTP --------------------------------------------------------------------------------


async def id_service(request: Request) -> Response:
    state = tenancy.state_for(request)
    if state is None:
        return tenancy.unknown_host(request)
    cors = R.cors_headers(request.headers.get("origin"), state.config.dcs.allowed_origins)
    response = await _answer(state, request)
    response.headers.update(cors)
    return response


async def _answer(state: DcsState, request: Request) -> Response:
    raw: bytes = request.scope.get("query_string", b"")
    try:
        req = parse_request(raw, b"", {})
    except ParamError as exc:
        return tenancy.refusal(request, exc.error, json=True)
    tid = new_tid()
    if req.orgid and state.orgid and req.orgid != state.orgid:
        err = E.error(E.INVALID_ORGID, req.orgid[:64])
        return R.payload({"error_msg": err.msg, "tid": tid}, [err], req.callback)
    now = state.clock()
    cookie = request.cookies.get(state.config.dcs.cookie_name)
    try:
        result = await run_in_threadpool(run_id, state, req, cookie, now)
    except StoreError as exc:
        log.error("profile store failed: %s", exc)
        return Response("profile store unavailable", status_code=503, headers={"X-Error": "0"})
    https = R.is_https(request.headers, request.scope)
    doc = body(state, result, blob_value=blob(raw), https=https, req=req, now=now)
    doc["tid"] = tid
    response = R.payload(doc, result.errors, req.callback)
    if result.uuid and not req.coppa:
        cfg = state.config.dcs
        R.set_visitor_cookie(response, cfg.cookie_name, result.uuid, days=cfg.cookie_days,
                             https=https)
    log.info(json.dumps({"path": "/id", "tid": tid, "uuid": result.uuid, "tenant": state.tenant,
                         "errors": [e.code for e in result.errors]}, separators=(",", ":")))
    return response


__all__ = ["IdResult", "body", "id_service", "new_mid", "run_id"]
