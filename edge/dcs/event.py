"""``/event``: read the hit, identify the visitor, qualify, store, answer.

Identity, in order: ``d_uuid``, the visitor cookie, the uuid ``d_mid`` is linked to (the
edge reads a hit the same way, and signs its envelope for that visitor); when none names a
visitor, the verified envelope's uuid (the edge assigned it), then a declared id's linked
uuid, then a fresh one. The envelope is verified for the hit's visitor; one that fails is
ignored and counted, never an error to the visitor.

Stops, answering 200 with the code and storing nothing: a host no tenant serves (1, see
``edge.dcs.tenancy``); a ``d_orgid`` that is not the tenant's (2); a cross-origin POST
(an ``Origin`` header other than the DCS's own) from an origin not in a non-empty
``dcs.allowed_origins`` (109, "Referer not allowed for partner": such a page may not
write to its visitors' profiles); the ``NOTARGET`` cookie or a
stored global opt-out (171, no uuid); ``gdpr=1`` without consent (313/315, no uuid, no
cookie). A partner opt-out drops that partner's declared ids and enrichment (171 with the
partner). ``d_coppa``: no cookie and no ID syncs. Store failures answer 503 (``X-Error: 0``).

A POST body is read as ``application/x-www-form-urlencoded`` whatever its declared type
(``sendBeacon`` posts ``text/plain``); see ``edge.dcs.params`` for the parameters and limits.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from edge.contracts.envelope import HEADER, Envelope
from edge.contracts.ids import is_uuid, new_tid, new_uuid
from edge.dcs import consent, tenancy
from edge.dcs import errors as E
from edge.dcs import responses as R
from edge.dcs.destinations import MacroContext, cookie_stuff, id_syncs, url_dests
from edge.dcs.errors import DcsError, ParamError, TooLarge
from edge.dcs.params import POST_LIMIT, DcsRequest, check_size, parse_request
from edge.dcs.qualify import Hit, Onboarded, Outcome, qualify
from edge.dcs.state import DcsState
from edge.profiles import Profile, StoreError

log = logging.getLogger("edge.dcs")
_CLICK_MACRO = re.compile(r"%(d_[a-z_]+)%", re.IGNORECASE)


@dataclass(frozen=True)
class HitContext:
    req: DcsRequest
    now: float
    cookie: str | None = None
    envelope: str | None = None
    https: bool = False
    host: str = ""


@dataclass
class EventResult:
    uuid: str | None = None  # None: nothing to tell the visitor (opted out, no consent)
    errors: list[DcsError] = field(default_factory=list)
    outcome: Outcome | None = None
    partner_ids: dict[int, str] = field(default_factory=dict)
    envelope: str = "none"


def run_event(state: DcsState, hit: HitContext) -> EventResult:
    """The synchronous core of one hit (called in a worker thread: it uses the store)."""
    req, now = hit.req, int(hit.now)
    result = EventResult(errors=list(req.errors))
    if hit.cookie == R.NOTARGET:
        result.errors.append(E.error(E.OPTED_OUT))
        return result
    seen_uuid = _known_uuid(state, req, hit.cookie)
    env = state.check_envelope(hit.envelope, seen_uuid, hit.now)
    result.envelope = "ok" if env else ("ignored" if hit.envelope else "none")
    uuid = seen_uuid or _envelope_uuid(env) or _declared_uuid(state, req) or new_uuid()
    if state.store.is_opted_out(uuid):
        result.errors.append(E.error(E.OPTED_OUT))
        return result
    decision = consent.decide(req.gdpr, req.gdpr_consent, purposes=state.config.dcs.tcf_purposes,
                              vendor=state.config.dcs.tcf_vendor)
    if not decision.allowed:
        result.errors.append(E.error(decision.code or E.NO_CONSENT))
        return result
    blocked = _partner_opt_outs(state, uuid, req, env)
    result.errors.extend(E.error(E.OPTED_OUT, f"partner {dpid}") for dpid in sorted(blocked))
    cids = [c for c in req.cids if state.dpid_of(c) not in blocked]
    qhit = Hit(
        now=now, signals=req.signals, sids=req.sids, dpids=state.trait_filter(req),
        onboarded=_onboarded(env, blocked),
    )
    outcomes: list[Outcome] = []

    def apply(profile: Profile) -> None:
        outcomes[:] = [qualify(state.engines, profile, qhit)]
        profile.attrs = req.stored_signals()
        for cid in cids:
            dpid = state.dpid_of(cid)
            if dpid is not None:
                profile.partner_ids[dpid] = cid.id

    profile = state.store.update(uuid, apply, now=now)
    for cid in cids:
        state.store.link(cid.alias, cid.id, uuid, now=now)
    if req.mid:
        state.store.link("mid", req.mid, uuid, now=now)
    result.uuid, result.outcome = uuid, outcomes[0]
    result.partner_ids = dict(profile.partner_ids)
    return result


def _known_uuid(state: DcsState, req: DcsRequest, cookie: str | None) -> str | None:
    if req.uuid:
        return req.uuid
    if is_uuid(cookie):
        return cookie
    return state.store.resolve("mid", req.mid) if req.mid else None


def _envelope_uuid(env: Envelope | None) -> str | None:
    return env.uuid if env is not None and is_uuid(env.uuid) else None


def _declared_uuid(state: DcsState, req: DcsRequest) -> str | None:
    for cid in req.cids:
        found = state.store.resolve(cid.alias, cid.id)
        if found:
            return found
    return None


def _partner_opt_outs(
    state: DcsState, uuid: str, req: DcsRequest, env: Envelope | None
) -> set[int]:
    dpids = {state.dpid_of(c) for c in req.cids}
    if env is not None:
        dpids.update(p.dpid for p in env.providers)
    return {d for d in dpids if d and d > 0 and state.store.is_opted_out(uuid, partner=d)}


def _onboarded(env: Envelope | None, blocked: set[int]) -> tuple[Onboarded, ...]:
    if env is None:
        return ()
    return tuple(
        Onboarded(p.dpid, s.id, s.status)
        for p in env.providers if p.dpid not in blocked for s in p.segments
    )


# -- HTTP --------------------------------------------------------------------------------


async def read_request(request: Request) -> tuple[bytes, bytes]:
    """The raw query string and (for POST) form body, within the size limits."""
    query: bytes = request.scope.get("query_string", b"")
    body = b""
    if request.method == "POST":
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > POST_LIMIT:
            raise TooLarge(413, POST_LIMIT)
        chunks = bytearray()
        async for chunk in request.stream():
            chunks.extend(chunk)
            if len(chunks) > POST_LIMIT:
                raise TooLarge(413, POST_LIMIT)
        body = bytes(chunks)
    check_size(query, body)
    return query, body


async def event(request: Request) -> Response:
    state = tenancy.state_for(request)
    if state is None:
        return tenancy.unknown_host(request)
    origin, allowed = request.headers.get("origin"), state.config.dcs.allowed_origins
    if request.method == "POST" and _foreign(request, origin, allowed):
        err = E.error(E.REFERER_NOT_ALLOWED, (origin or "")[:64])
        _log(request, "", None, [err])
        return tenancy.refusal(request, err, json=True)
    response = await _answer(state, request)
    response.headers.update(R.cors_headers(origin, allowed))
    return response


def _foreign(request: Request, origin: str | None, allowed: tuple[str, ...]) -> bool:
    """A POST from another origin than the DCS's own, not in a non-empty allowed list."""
    if origin is None or not allowed or origin in allowed:
        return False
    return origin != R.own_origin(request.headers, request.scope)


async def _answer(state: DcsState, request: Request) -> Response:
    tid = new_tid()
    try:
        query, body = await read_request(request)
        req = parse_request(query, body, request.headers)
    except TooLarge as exc:
        _log(request, tid, None, [exc.error], status=exc.status)
        return Response(exc.error.msg, status_code=exc.status, headers={"X-Error": "0"})
    except ParamError as exc:
        _log(request, tid, None, [exc.error])
        return _disregarded(state, request, tid, exc.error)
    if req.orgid and state.orgid and req.orgid != state.orgid:
        err = E.error(E.INVALID_ORGID, req.orgid[:64])
        _log(request, tid, None, [err])
        if req.json:
            return R.payload({"stuff": [], "dcs_region": state.config.dcs.region, "tid": tid},
                             [err], req.callback)
        return R.pixel([err])
    hit = HitContext(
        req=req, now=state.clock(), cookie=request.cookies.get(state.config.dcs.cookie_name),
        envelope=request.headers.get(HEADER), https=R.is_https(request.headers, request.scope),
        host=R.request_host(request.headers),
    )
    try:
        result = await run_in_threadpool(run_event, state, hit)
    except StoreError as exc:
        log.error("profile store failed: %s", exc)
        return Response("profile store unavailable", status_code=503, headers={"X-Error": "0"})
    _log(request, tid, result, result.errors)
    return render(state, hit, result, tid)


def _disregarded(state: DcsState, request: Request, tid: str, err: DcsError) -> Response:
    raw = request.scope.get("query_string", b"")
    if b"d_rtbd=json" in raw:
        body = {"stuff": [], "dcs_region": state.config.dcs.region, "tid": tid}
        return R.payload(body, [err])
    return R.pixel([err])


def render(state: DcsState, hit: HitContext, result: EventResult, tid: str) -> Response:
    """The answer to a processed hit: pixel, JSON/JSONP or click redirect, plus the cookie."""
    req, cfg = hit.req, state.config.dcs
    body = _body(state, hit, result, tid)
    target = _click_target(state, req) if req.rd else None
    if target:
        response = R.redirect(target, result.errors)
    elif req.json:
        response = R.payload(body, result.errors, req.callback)
    else:
        response = R.pixel(result.errors)
    if result.uuid and not req.coppa:
        R.set_visitor_cookie(response, cfg.cookie_name, result.uuid, days=cfg.cookie_days,
                             https=hit.https)
    return response


def _body(state: DcsState, hit: HitContext, result: EventResult, tid: str) -> dict[str, Any]:
    req, cfg = hit.req, state.config
    body: dict[str, Any] = {"stuff": []}
    if result.uuid:
        body["uuid"] = result.uuid
    body["dcs_region"] = cfg.dcs.region
    body["tid"] = tid
    out = result.outcome
    if result.uuid is None or out is None:
        return body
    ctx = MacroContext(
        uuid=result.uuid, now=hit.now, region=cfg.dcs.region, https=hit.https, mid=req.mid,
        partner_ids=result.partner_ids, gdpr=req.gdpr, gdpr_consent=req.gdpr_consent,
    )
    body["stuff"] = cookie_stuff(cfg.destinations, out.segments, hit.host)
    if req.dst:
        body["dests"] = url_dests(cfg.destinations, out.segments, out.new_segments, ctx)
    if req.jsonv == 1 and not req.coppa:
        body["ibs"] = id_syncs(cfg.providers, ctx, ttl_s=cfg.dcs.id_sync_ttl_s)
    if req.cts:
        body["traits"] = sorted(out.realized)
        body["segments"] = sorted(out.segments)
    return body


def _click_target(state: DcsState, req: DcsRequest) -> str | None:
    """The ``d_rd`` URL, ``%d_creative%``-style macros filled, if it goes to a partner host."""

    def macro(m: re.Match[str]) -> str:
        values = req.signals.get(m.group(1).lower(), [])
        return quote(values[0], safe="") if values else ""

    url = _CLICK_MACRO.sub(macro, req.rd or "")
    return R.safe_redirect(url, state.config.dcs.partner_hosts, force_https=True)


def _log(
    request: Request, tid: str, result: EventResult | None, errs: list[DcsError],
    *, status: int = 200,
) -> None:
    """One structured line per hit; ``p_`` keys and all signal values are left out."""
    line: dict[str, Any] = {
        "path": request.scope["path"], "method": request.method, "tid": tid, "status": status,
        "errors": [e.code for e in errs],
    }
    if result is not None:
        line.update(uuid=result.uuid, envelope=result.envelope)
        if result.outcome is not None:
            line.update(traits=sorted(result.outcome.realized),
                        segments=sorted(result.outcome.segments))
    log.info(json.dumps(line, separators=(",", ":")))


__all__ = ["EventResult", "HitContext", "event", "render", "run_event"]
