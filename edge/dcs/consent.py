"""A minimal IAB TCF v2 consent check for the DCS (``gdpr`` / ``gdpr_consent``); pure.

Only the core segment of the TC string (before the first ``.``) is read: the CMP id, the
purpose consents and the vendor consents (bit field or ranges). Audience Manager needs
purposes 1 and 10 and its vendor's consent "to deploy cookies and initiate or honor ID
syncs"; the deployment configures both (``dcs.tcf_purposes``, ``dcs.tcf_vendor``).

``decide(gdpr, consent, purposes=, vendor=)``:

- ``gdpr`` not 1: allowed (no consent regime applies);
- a TC string with CMP id 0 (no registered CMP): refused, code 313;
- a missing or undecodable string, or one lacking a purpose or the vendor: refused, 315.

Code 314 (CMP deleted from the global list) is never emitted: the DCS keeps no copy of the
global CMP list. Nothing here raises; ``parse`` raises ``ValueError`` for a bad string.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from edge.dcs.errors import CMP_NOT_IN_GCL, NO_CONSENT

_CMP_ID = (78, 12)
_PURPOSES = (152, 24)
_MAX_VENDOR = (213, 16)
_IS_RANGE = 229
_VENDORS = 230


@dataclass(frozen=True)
class TcCore:
    version: int
    cmp_id: int
    purposes: frozenset[int]
    vendors: frozenset[int]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: int | None = None  # the DCS error code when refused


class _Bits:
    def __init__(self, data: bytes) -> None:
        self._bits = "".join(f"{b:08b}" for b in data)

    def int(self, start: int, length: int) -> int:
        if start + length > len(self._bits):
            raise ValueError("TC string is truncated")
        return int(self._bits[start : start + length], 2)


def parse(text: str) -> TcCore:
    """The core segment of a TC string; ``ValueError`` if it is not a v2 TC string."""
    core = text.split(".", 1)[0]
    try:
        data = base64.urlsafe_b64decode(core + "=" * (-len(core) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("TC string is not URL-safe base64") from None
    bits = _Bits(data)
    version = bits.int(0, 6)
    if version != 2:
        raise ValueError(f"TC string version {version} is not 2")
    purposes = frozenset(i + 1 for i in range(24) if bits.int(_PURPOSES[0] + i, 1))
    return TcCore(version, bits.int(*_CMP_ID), purposes, _vendors(bits))


def _vendors(bits: _Bits) -> frozenset[int]:
    max_vendor = bits.int(*_MAX_VENDOR)
    if not bits.int(_IS_RANGE, 1):
        return frozenset(v for v in range(1, max_vendor + 1) if bits.int(_VENDORS + v - 1, 1))
    found: set[int] = set()
    entries = bits.int(_VENDORS, 12)
    pos = _VENDORS + 12
    for _ in range(entries):
        is_range = bits.int(pos, 1)
        start = bits.int(pos + 1, 16)
        pos += 17
        end = start
        if is_range:
            end = bits.int(pos, 16)
            pos += 16
        if end - start > 65535 or end < start:
            raise ValueError("TC string has a bad vendor range")
        found.update(range(start, end + 1))
    return frozenset(found)


def decide(
    gdpr: int | None, consent: str | None, *, purposes: Iterable[int], vendor: int
) -> Decision:
    """Whether the DCS may store data, set cookies and sync ids for this request."""
    if gdpr != 1:
        return Decision(True)
    if not consent:
        return Decision(False, NO_CONSENT)
    try:
        core = parse(consent)
    except ValueError:
        return Decision(False, NO_CONSENT)
    if core.cmp_id == 0:
        return Decision(False, CMP_NOT_IN_GCL)
    if not set(purposes) <= core.purposes or vendor not in core.vendors:
        return Decision(False, NO_CONSENT)
    return Decision(True)
