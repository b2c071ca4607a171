"""``/ibs`` (inbound partner ID sync) and ``/demoptout.jpg`` (opt-out).

``/ibs:dpid=<n>&dpuuid=<id>&redir=<url>``: the parameters follow ``ibs:`` with no ``?``
(``/ibs?...``, ``/ibs/...`` and the ``d_cid=<n>%01<id>`` or ``d_dpid``/``d_dpuuid`` forms work
too). The visitor is the cookie's (a new one gets a cookie); the partner id is stored in the
profile and linked (``dpid:<n>``). ``redir`` with ``${DD_UUID}`` replaced is followed only
to a configured partner host; otherwise, and without ``redir``, the answer is a pixel.
Nothing is stored, and no redirect given, for an opted-out visitor (171), without GDPR
consent (313/315), or with a badly encoded request (311).

``/demoptout.jpg`` (and ``/demoptout``): without ids, a global opt-out of the cookie's
visitor, and the cookie becomes ``NOTARGET`` for 10 years. With ``d_uuid`` or ``d_mid``, a
partner-level opt-out of that visitor from this DCS (recorded as global: a tenant is one
customer; ``d_uuid`` takes precedence). With ``d_cid`` / ``d_cid_ic``, an opt-out of the
visitor that id is linked to, from that data source only. These forms leave the caller's
cookie alone: they name another visitor.
"""

from __future__ import annotations

import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from edge.contracts.ids import is_uuid, new_uuid
from edge.dcs import consent, tenancy
from edge.dcs import errors as E
from edge.dcs import responses as R
from edge.dcs.errors import DcsError, ParamError
from edge.dcs.params import DcsRequest, DeclaredId, parse_request
from edge.dcs.state import DcsState
from edge.dcs.wire import pairs
from edge.profiles import Profile, StoreError

log = logging.getLogger("edge.dcs")
DD_UUID = "${DD_UUID}"


def _raw_ibs_params(request: Request) -> bytes:
    """The parameters after ``/ibs:`` (or ``/ibs/``), joined with the query string."""
    raw_path: bytes = request.scope.get("raw_path") or str(request.scope["path"]).encode()
    head, _, after = raw_path.partition(b"/ibs")
    rest = after.split(b"?", 1)[0].lstrip(b":/")
    query: bytes = request.scope.get("query_string", b"")
    return b"&".join(p for p in (rest, query) if p)


def _open(request: Request, raw: bytes) -> tuple[DcsState, DcsRequest] | Response:
    """The tenant's state and the request parsed from `raw`, or the answer that ends the call:
    error 1 for an unknown host, a pixel with the error of a request disregarded as a whole."""
    state = tenancy.state_for(request)
    if state is None:
        return tenancy.unknown_host(request)
    try:
        return state, parse_request(raw, b"", {})
    except ParamError as exc:
        return R.pixel([exc.error])


def _store_unavailable(exc: StoreError) -> Response:
    log.error("profile store failed: %s", exc)
    return Response("profile store unavailable", status_code=503, headers={"X-Error": "0"})


async def ibs(request: Request) -> Response:
    raw = _raw_ibs_params(request)
    opened = _open(request, raw)
    if isinstance(opened, Response):
        return opened
    state, req = opened
    cfg = state.config.dcs
    cookie = request.cookies.get(cfg.cookie_name)
    decision = consent.decide(req.gdpr, req.gdpr_consent, purposes=cfg.tcf_purposes,
                              vendor=cfg.tcf_vendor)
    errors: list[DcsError] = list(req.errors)
    if cookie == R.NOTARGET:
        return R.pixel([*errors, E.error(E.OPTED_OUT)])
    if not decision.allowed:
        return R.pixel([*errors, E.error(decision.code or E.NO_CONSENT)])
    uuid = cookie if cookie is not None and is_uuid(cookie) else new_uuid()
    cid = req.cids[0] if req.cids else None  # dpid/dpuuid, d_dpid/d_dpuuid or d_cid
    try:
        stored = await run_in_threadpool(_store_sync, state, uuid, cid)
    except StoreError as exc:
        return _store_unavailable(exc)
    if not stored:
        return R.pixel([*errors, E.error(E.OPTED_OUT)])
    https = R.is_https(request.headers, request.scope)
    redir = _raw_value(raw, "redir")
    target = R.safe_redirect(redir.replace(DD_UUID, uuid), cfg.partner_hosts) if redir else None
    response = R.redirect(target, errors) if target else R.pixel(errors)
    R.set_visitor_cookie(response, cfg.cookie_name, uuid, days=cfg.cookie_days, https=https)
    log.info(json.dumps({"path": "/ibs", "uuid": uuid, "dpid": dpid_text(cid),
                         "redirect": target is not None}, separators=(",", ":")))
    return response


def dpid_text(cid: DeclaredId | None) -> str | None:
    return cid.namespace if cid is not None else None


def _raw_value(raw: bytes, key: str) -> str:
    """One parameter, decoded once (its value is not split on commas like a signal)."""
    return next((v for k, v in pairs(raw) if k == key), "")


def _store_sync(state: DcsState, uuid: str, cid: DeclaredId | None) -> bool:
    """Record the partner id; False if the visitor opted out (of everything or the partner)."""
    now = int(state.clock())
    if state.store.is_opted_out(uuid):
        return False
    dpid = state.dpid_of(cid) if cid else None
    if dpid is not None and state.store.is_opted_out(uuid, partner=dpid):
        return False

    def apply(profile: Profile) -> None:
        if cid is not None and dpid is not None:
            profile.partner_ids[dpid] = cid.id

    state.store.update(uuid, apply, now=now)
    if cid is not None:
        state.store.link(cid.alias, cid.id, uuid, now=now)
    return True


async def demoptout(request: Request) -> Response:
    opened = _open(request, request.scope.get("query_string", b""))
    if isinstance(opened, Response):
        return opened
    state, req = opened
    cfg = state.config.dcs
    cookie = request.cookies.get(cfg.cookie_name)
    named = bool(req.uuid or req.mid or req.cids)
    try:
        await run_in_threadpool(_opt_out, state, req, None if named else cookie)
    except StoreError as exc:
        return _store_unavailable(exc)
    response = R.pixel(req.errors)
    if not named:
        R.set_visitor_cookie(response, cfg.cookie_name, R.NOTARGET, days=R.OPT_OUT_DAYS,
                             https=R.is_https(request.headers, request.scope))
    return response


def _opt_out(state: DcsState, req: DcsRequest, cookie: str | None) -> None:
    store, now = state.store, int(state.clock())
    if cookie is not None:
        if is_uuid(cookie):
            store.opt_out(cookie, now=now)
        return
    uuid = req.uuid or (store.resolve("mid", req.mid) if req.mid else None)
    if uuid:
        store.opt_out(uuid, now=now)
        return
    for cid in req.cids:
        target, dpid = store.resolve(cid.alias, cid.id), state.dpid_of(cid)
        if target:
            store.opt_out(target, partner=dpid if dpid and dpid > 0 else None, now=now)
