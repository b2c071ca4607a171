"""Host-based tenants in the DCS: one ``DcsState`` per tenant, found by the request's host.

``build_states(config, store, clock)`` makes the states: without ``[[tenants]]`` one state
for the whole config (any host); with tenants one per tenant, matched by the exact host
name of ``X-Forwarded-Host`` (set by the edge) or ``Host``, port ignored.

Profiles: a tenant whose ``dcs.store`` is the main one shares that store, and its aliases
(``mid``, ``dpid:<n>``, ``cid_ic:<code>``) are kept apart by a ``<tenant>/`` prefix on the
namespace (``TenantStore``); a tenant with its own ``dcs.store`` URL gets its own store.
Visitor uuids are random 38-digit ids, so profiles and opt-outs need no prefix; each tenant's
hosts also carry their own visitor cookie.

``unknown_host(request)`` is the answer to a host no tenant serves: HTTP 200 with error 1
(JSON or JSONP when asked for, else the pixel), nothing stored. Nothing here raises.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from edge.config import Config
from edge.contracts.ids import new_tid
from edge.dcs import errors as E
from edge.dcs import responses as R
from edge.dcs.errors import ParamError
from edge.dcs.params import parse_request
from edge.dcs.state import DcsState
from edge.profiles import Profile, ProfileStore, StoreStats, open_store


class TenantStore:
    """A shared ``ProfileStore`` whose alias namespaces carry the tenant's prefix."""

    def __init__(self, inner: ProfileStore, tenant: str) -> None:
        self.inner = inner
        self.prefix = f"{tenant}/"

    def load(self, uuid: str) -> Profile | None:
        return self.inner.load(uuid)

    def update(self, uuid: str, fn: Callable[[Profile], None], *, now: int) -> Profile:
        return self.inner.update(uuid, fn, now=now)

    def link(self, namespace: str, key: str, uuid: str, *, now: int) -> None:
        self.inner.link(self.prefix + namespace, key, uuid, now=now)

    def resolve(self, namespace: str, key: str) -> str | None:
        return self.inner.resolve(self.prefix + namespace, key)

    def opt_out(self, uuid: str, *, partner: int | None = None, now: int) -> None:
        self.inner.opt_out(uuid, partner=partner, now=now)

    def is_opted_out(self, uuid: str, *, partner: int | None = None) -> bool:
        return self.inner.is_opted_out(uuid, partner=partner)

    def delete(self, uuid: str) -> bool:
        return self.inner.delete(uuid)

    def stats(self) -> StoreStats:
        return self.inner.stats()

    def close(self) -> None:
        """The shared store is closed by its owner."""


def build_states(
    config: Config, store: ProfileStore | None, clock: Callable[[], float]
) -> tuple[dict[str, DcsState], list[ProfileStore]]:
    """The state of each tenant by name ("" without tenants), and the stores opened here
    (the caller closes them); `store` is the main store, opened from the config if None."""
    opened: list[ProfileStore] = []
    if store is None:
        store = open_store(config.dcs.store)
        opened.append(store)
    states: dict[str, DcsState] = {}
    first: DcsState | None = None
    for tenant in config.all_tenants():
        cfg = tenant.config
        own: ProfileStore
        if cfg.dcs.store != config.dcs.store:
            own = open_store(cfg.dcs.store)
            opened.append(own)
        else:
            own = TenantStore(store, tenant.name) if tenant.name else store
        state = DcsState.build(cfg, own, clock, owns=False, orgid=tenant.orgid, shared=first)
        first = first or state
        states[tenant.name] = state
    return states, opened


def state_for(request: Request) -> DcsState | None:
    """The state of the tenant serving the request's host, or None (error 1)."""
    config: Config = request.app.state.config
    states: dict[str, DcsState] = request.app.state.tenants
    tenant = config.tenant_for(R.request_host(request.headers))
    return states.get(tenant.name) if tenant is not None else None


def unknown_host(request: Request) -> Response:
    """HTTP 200 with error 1 "Could not find config for hostname"."""
    return refusal(request, E.error(E.NO_CONFIG, R.request_host(request.headers)[:64]))


def refusal(request: Request, err: E.DcsError, *, json: bool = False) -> Response:
    """A request answered with `err` alone: JSON/JSONP when asked for (or `json`), else the
    pixel."""
    try:
        req = parse_request(request.scope.get("query_string", b""))
    except ParamError:
        return R.payload({"tid": new_tid()}, [err]) if json else R.pixel([err])
    if req.json or req.callback or json:
        return R.payload({"tid": new_tid()}, [err], req.callback)
    return R.pixel([err])
