"""IAB TCF v2 TC strings: the parser and encoder shared by the edge and the DCS; pure.

A TC string is URL-safe base64 without padding; segments are separated by ``.`` and only the
first (core) one is read here: version, timestamps, CMP, language, vendor list and policy
versions, special features, purposes consent and legitimate interest, publisher country,
and the vendor consent and vendor legitimate-interest sections (bitfield or range encoding).
Publisher restrictions and the other segments are ignored.

``parse(text)`` decodes, ``encode(tc)`` builds one (tests and the demo). Each side keeps its
own decision: the edge's per provider (``edge.enrich.consent``), the DCS's per request with
its error codes (``edge.dcs.consent``).

Errors: ``ConsentError(ValueError)``: a malformed TC string (bad base64, wrong version,
truncated fields, invalid ranges).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field

TCF_VERSION = 2
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ConsentError(ValueError):
    """A TC string that cannot be decoded."""


@dataclass(frozen=True)
class TCString:
    """The core segment of a TCF v2 TC string (timestamps in deciseconds since the epoch)."""

    created: int = 0
    last_updated: int = 0
    cmp_id: int = 0
    cmp_version: int = 0
    consent_screen: int = 0
    consent_language: str = "EN"
    vendor_list_version: int = 0
    policy_version: int = 2
    is_service_specific: bool = False
    use_non_standard_texts: bool = False
    special_features: frozenset[int] = frozenset()
    purposes_consent: frozenset[int] = frozenset()
    purposes_li: frozenset[int] = frozenset()
    purpose_one_treatment: bool = False
    publisher_cc: str = "AA"
    vendor_consents: frozenset[int] = field(default_factory=frozenset)
    vendor_li: frozenset[int] = field(default_factory=frozenset)
    version: int = TCF_VERSION


# -- decoding --------------------------------------------------------------------------------


class _Bits:
    def __init__(self, data: bytes) -> None:
        self._bits = "".join(f"{b:08b}" for b in data)
        self._pos = 0

    def read(self, n: int, what: str) -> int:
        if n == 0:
            return 0
        end = self._pos + n
        if end > len(self._bits):
            raise ConsentError(f"TC string truncated while reading {what}")
        value = int(self._bits[self._pos : end], 2)
        self._pos = end
        return value

    def flag(self, what: str) -> bool:
        return self.read(1, what) == 1

    def letters(self, what: str) -> str:
        a, b = self.read(6, what), self.read(6, what)
        if a > 25 or b > 25:
            raise ConsentError(f"{what}: not two letters")
        return _LETTERS[a] + _LETTERS[b]

    def bitset(self, n: int, what: str) -> frozenset[int]:
        value = self.read(n, what)
        return frozenset(i + 1 for i in range(n) if value >> (n - 1 - i) & 1)


def _decode_b64(segment: str) -> bytes:
    if not segment or any(c in segment for c in "+/="):
        raise ConsentError("TC string is not URL-safe base64 without padding")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise ConsentError("TC string is not valid base64") from None


def _vendors(bits: _Bits, what: str) -> frozenset[int]:
    max_id = bits.read(16, f"{what} max vendor id")
    if not bits.flag(f"{what} encoding"):
        return bits.bitset(max_id, f"{what} bitfield")
    out: set[int] = set()
    for _ in range(bits.read(12, f"{what} entry count")):
        is_range = bits.flag(f"{what} range flag")
        start = bits.read(16, f"{what} vendor id")
        end = bits.read(16, f"{what} range end") if is_range else start
        if start < 1 or end < start or end > max_id:
            raise ConsentError(f"{what}: invalid range {start}-{end} (max {max_id})")
        out.update(range(start, end + 1))
    return frozenset(out)


def parse(consent_string: str) -> TCString:
    """Decode the core segment of a TCF v2 TC string."""
    bits = _Bits(_decode_b64(consent_string.strip().split(".", 1)[0]))
    version = bits.read(6, "version")
    if version != TCF_VERSION:
        raise ConsentError(f"TC string version {version}, expected {TCF_VERSION}")
    return TCString(
        version=version,
        created=bits.read(36, "created"),
        last_updated=bits.read(36, "last updated"),
        cmp_id=bits.read(12, "cmp id"),
        cmp_version=bits.read(12, "cmp version"),
        consent_screen=bits.read(6, "consent screen"),
        consent_language=bits.letters("consent language"),
        vendor_list_version=bits.read(12, "vendor list version"),
        policy_version=bits.read(6, "policy version"),
        is_service_specific=bits.flag("is service specific"),
        use_non_standard_texts=bits.flag("use non-standard texts"),
        special_features=bits.bitset(12, "special features"),
        purposes_consent=bits.bitset(24, "purposes consent"),
        purposes_li=bits.bitset(24, "purposes legitimate interest"),
        purpose_one_treatment=bits.flag("purpose one treatment"),
        publisher_cc=bits.letters("publisher country"),
        vendor_consents=_vendors(bits, "vendor consent"),
        vendor_li=_vendors(bits, "vendor legitimate interest"),
    )


# -- encoding (tests and the demo) -----------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self._parts: list[str] = []

    def put(self, value: int, n: int) -> None:
        if value < 0 or value >= 1 << n:
            raise ValueError(f"{value} does not fit in {n} bits")
        self._parts.append(f"{value:0{n}b}")

    def flag(self, value: bool) -> None:
        self.put(int(value), 1)

    def letters(self, text: str) -> None:
        if len(text) != 2 or any(c not in _LETTERS for c in text):
            raise ValueError(f"{text!r} is not two upper-case letters")
        for c in text:
            self.put(_LETTERS.index(c), 6)

    def bitset(self, ids: Iterable[int], n: int) -> None:
        present = set(ids)
        self._parts.append("".join("1" if i in present else "0" for i in range(1, n + 1)))

    def bytes(self) -> bytes:
        bits = "".join(self._parts)
        bits += "0" * (-len(bits) % 8)
        return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if out and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def _write_vendors(w: _Writer, ids: frozenset[int], use_ranges: bool) -> None:
    max_id = max(ids, default=0)
    w.put(max_id, 16)
    w.flag(use_ranges)
    if not use_ranges:
        w.bitset(ids, max_id)
        return
    ranges = _ranges(ids)
    w.put(len(ranges), 12)
    for start, end in ranges:
        w.flag(start != end)
        w.put(start, 16)
        if start != end:
            w.put(end, 16)


def encode(tc: TCString, *, ranges: bool = False) -> str:
    """The core-segment TC string for `tc` (vendor sections as bitfields, or ranges)."""
    w = _Writer()
    w.put(tc.version, 6)
    w.put(tc.created, 36)
    w.put(tc.last_updated, 36)
    w.put(tc.cmp_id, 12)
    w.put(tc.cmp_version, 12)
    w.put(tc.consent_screen, 6)
    w.letters(tc.consent_language)
    w.put(tc.vendor_list_version, 12)
    w.put(tc.policy_version, 6)
    w.flag(tc.is_service_specific)
    w.flag(tc.use_non_standard_texts)
    w.bitset(tc.special_features, 12)
    w.bitset(tc.purposes_consent, 24)
    w.bitset(tc.purposes_li, 24)
    w.flag(tc.purpose_one_treatment)
    w.letters(tc.publisher_cc)
    _write_vendors(w, tc.vendor_consents, ranges)
    _write_vendors(w, tc.vendor_li, ranges)
    w.put(0, 12)  # no publisher restrictions
    return base64.urlsafe_b64encode(w.bytes()).rstrip(b"=").decode("ascii")
