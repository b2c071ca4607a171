"""The DCS's IAB TCF v2 consent decision (``gdpr`` / ``gdpr_consent``); pure.

The TC string is read by the shared parser (``edge.contracts.tcf``): the CMP id, the purpose
consents and the vendor consents. Audience Manager needs purposes 1 and 10 and its vendor's
consent "to deploy cookies and initiate or honor ID syncs"; the deployment configures both
(``dcs.tcf_purposes``, ``dcs.tcf_vendor``).

``decide(gdpr, consent, purposes=, vendor=)``:

- ``gdpr`` not 1: allowed (no consent regime applies);
- a TC string with CMP id 0 (no registered CMP): refused, code 313;
- a missing or undecodable string, or one lacking a purpose or the vendor: refused, 315.

Code 314 (CMP deleted from the global list) is never emitted: the DCS keeps no copy of the
global CMP list. Nothing here raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.contracts.tcf import ConsentError, parse
from edge.dcs.errors import CMP_NOT_IN_GCL, NO_CONSENT


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: int | None = None  # the DCS error code when refused


def decide(
    gdpr: int | None, consent: str | None, *, purposes: Iterable[int], vendor: int
) -> Decision:
    """Whether the DCS may store data, set cookies and sync ids for this request."""
    if gdpr != 1:
        return Decision(True)
    if not consent:
        return Decision(False, NO_CONSENT)
    try:
        tc = parse(consent)
    except ConsentError:
        return Decision(False, NO_CONSENT)
    if tc.cmp_id == 0:
        return Decision(False, CMP_NOT_IN_GCL)
    if not set(purposes) <= tc.purposes_consent or vendor not in tc.vendor_consents:
        return Decision(False, NO_CONSENT)
    return Decision(True)
