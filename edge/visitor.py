"""Reading a hit at the edge: who the visitor is, what the hit says, what consent it carries.

Pure functions over already-split query/form pairs and cookies; the addon does the I/O. The DCS
parses the same wire format in full (edge/dcs/params.py); the edge needs only what decides the
provider fan-out, so it reads leniently and never rejects a hit (the DCS does that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from edge.contracts.ids import is_uuid

OPTED_OUT_COOKIE = "NOTARGET"  # what the DCS writes into the visitor cookie on opt-out

# Keys that never reach a provider: they steer the DCS or identify the visitor.
_CONTROL_PREFIXES = ("d_", "p_")
_TRUE = frozenset({"1", "true", "yes"})
# Consent and control parameters: read by the edge, never forwarded to a provider as signals.
_PRIVACY_KEYS = frozenset({"gdpr", "gdpr_consent", "us_privacy", "_ts"})


@dataclass(frozen=True)
class HitInfo:
    uuid: str | None  # from d_uuid, else the visitor cookie
    mid: str | None
    signals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    gdpr: int | None = None
    gdpr_consent: str | None = None
    coppa: bool = False
    uuid_source: str = "none"  # d_uuid | cookie | none
    opted_out: bool = False  # the visitor cookie says NOTARGET (a global opt-out)
    # opted out of the sale or sharing of personal data (US state privacy laws): us_privacy
    # with "Y" as its opt-out character, or the browser's Global Privacy Control (the addon
    # reads the Sec-GPC header)
    sale_opt_out: bool = False


def _split(value: str) -> tuple[str, ...]:
    """Serialized values ``a,b`` split on commas, unless the value is a quoted string."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return (value[1:-1],)
    return tuple(v for v in value.split(",") if v != "")


def read_hit(
    pairs: Iterable[tuple[str, str]], cookies: Mapping[str, str], *, cookie_name: str
) -> HitInfo:
    """The edge's view of a hit from its (query + body) pairs and cookies."""
    signals: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for key, value in pairs:
        first.setdefault(key, value)
        if key.startswith(_CONTROL_PREFIXES) or key in _PRIVACY_KEYS:
            continue
        signals.setdefault(key, []).extend(_split(value))
    uuid, source = None, "none"
    if is_uuid(first.get("d_uuid")):
        uuid, source = first["d_uuid"], "d_uuid"
    elif is_uuid(cookies.get(cookie_name)):
        uuid, source = cookies[cookie_name], "cookie"
    gdpr_text = first.get("gdpr")
    gdpr = int(gdpr_text) if gdpr_text in ("0", "1") else None
    return HitInfo(
        uuid=uuid,
        mid=first.get("d_mid") or None,
        signals={k: tuple(v) for k, v in signals.items()},
        gdpr=gdpr,
        gdpr_consent=first.get("gdpr_consent") or None,
        coppa=first.get("d_coppa", "").lower() in _TRUE,
        uuid_source=source,
        opted_out=cookies.get(cookie_name) == OPTED_OUT_COOKIE,
        sale_opt_out=us_privacy_opt_out(first.get("us_privacy")),
    )


def us_privacy_opt_out(value: str | None) -> bool:
    """Whether an IAB US Privacy string (``1YYN``: version 1, notice, opt-out of sale, LSPA)
    says the visitor opted out of the sale of their data. Anything malformed says nothing."""
    return (value is not None and len(value) == 4 and value[0] == "1"
            and value[2] in "Yy")


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a ``Cookie`` header (first occurrence), or None."""
    if not header or name not in header:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip('"')
    return None


def query_pairs(path: str) -> list[tuple[str, str]]:
    """The decoded query pairs of a request path (lenient: the DCS is the strict reader)."""
    _, sep, query = path.partition("?")
    return parse_qsl(query.partition("#")[0], keep_blank_values=True) if sep else []


def wants_json(pairs: Iterable[tuple[str, str]]) -> bool:
    return any(k == "d_rtbd" and v == "json" for k, v in pairs)
