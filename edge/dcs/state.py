"""What every DCS endpoint shares: config, store, engines, the envelope verifier, counters.

Built once per tenant by ``create_app`` (``edge.dcs.tenancy``); the tenants of one app share
the envelope verifier (its replay memory), its counters and their lock. The handlers reach
the state of a request's tenant through ``edge.dcs.tenancy.state_for``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.config import Config
from edge.contracts.envelope import Envelope, EnvelopeError, Verifier
from edge.dcs.params import DcsRequest, DeclaredId
from edge.dcs.qualify import Engines
from edge.profiles import ProfileStore
from edge.rules.segments import SegmentEngine
from edge.rules.traits import TraitEngine


@dataclass
class DcsState:
    config: Config
    store: ProfileStore
    engines: Engines
    verifier: Verifier
    clock: Callable[[], float]
    owns_store: bool = False
    tenant: str = ""  # the tenant's name ("" without [[tenants]])
    orgid: str | None = None  # the tenant's d_orgid (None: any is accepted)
    envelopes: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls, config: Config, store: ProfileStore, clock: Callable[[], float], *, owns: bool,
        orgid: str | None = None, shared: DcsState | None = None,
    ) -> DcsState:
        """The state of one tenant; `shared` is another tenant's, whose verifier it reuses."""
        engines = Engines(
            TraitEngine(config.traits, case_sensitive=config.dcs.case_sensitive),
            SegmentEngine(config.segments),
        )
        if shared is not None:
            return cls(config, store, engines, shared.verifier, clock, owns_store=owns,
                       tenant=config.tenant, orgid=orgid, envelopes=shared.envelopes,
                       _lock=shared._lock)
        verifier = Verifier(config.secret, window_s=config.dcs.envelope_window_s)
        return cls(config, store, engines, verifier, clock, owns_store=owns,
                   tenant=config.tenant, orgid=orgid)

    def check_envelope(self, value: str | None, uuid: str | None, now: float) -> Envelope | None:
        """The verified envelope, or None; every outcome is counted by name."""
        if not value:
            return None
        with self._lock:  # the verifier's nonce memory is not thread-safe
            try:
                env = self.verifier.verify(value, uuid=uuid, now=now)
            except EnvelopeError as exc:
                self.envelopes[type(exc).__name__] += 1
                return None
            self.envelopes["ok"] += 1
            return env

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self.envelopes)

    def dpid_of(self, cid: DeclaredId) -> int | None:
        """The data source a declared id belongs to (an integration code via data_sources)."""
        if cid.kind == "dpid":
            return int(cid.namespace)
        return self.dpid_for_ic(cid.namespace)

    def dpid_for_ic(self, code: str) -> int | None:
        return next((s.dpid for s in self.config.data_sources if s.ic == code), None)

    def trait_filter(self, req: DcsRequest) -> frozenset[int] | None:
        """The data sources d_tdpid / d_tdpid_ic restrict evaluation to (None: all).

        An integration code no data source has matches nothing: only traits of the named
        data sources are evaluated, and an unknown one names none.
        """
        if not req.filtered:
            return None
        from_ic = (self.dpid_for_ic(code) for code in req.tdpid_ics)
        return frozenset(req.tdpids) | {d for d in from_ic if d is not None}
