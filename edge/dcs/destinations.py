"""URL and cookie destinations and partner ID-sync entries for the DCS response; pure.

URL destinations (``dests`` items ``{id, y, c, e, hr}``) fire when the visitor newly
qualifies for a segment the destination maps; they then carry every mapped segment the
visitor holds. ``%ALIAS%`` is the alias (each URL-encoded; one URL per alias, or one URL
with the aliases joined by the delimiter when serialized). Other macros, case-insensitive:
``%rnd%`` (random digits), ``%timestamp%`` (unix ms), ``%did%`` (the uuid), ``%mcid%``,
``%dpid_<n>%`` (the visitor's partner id at data source n, empty if unknown),
``%http_proto%``, ``%region%``, ``${GDPR}`` (1 or 0) and ``${GDPR_CONSENT_<vendor>}``
(the consent string, empty without one). ``c`` uses the request's scheme, ``e`` the secure
URL (or the base URL) with ``https``.

Cookie destinations (``stuff`` items ``{cn, cv, ttl, dmn}``) carry every mapped segment the
visitor holds: with a ``cookie_key``, ``key=a,b`` (serialized) or ``key=a&key=b``; without
one, the aliases joined by the delimiter (serialized) or ``&``. Spaces and semicolons in
the value are encoded (``%20``, ``%3B``). The domain is the configured one, else the
requesting host without ``www.`` and port, with a leading dot (an IP address or a
single-label host is used as is: browsers refuse a dotted form of those).

ID syncs (``ibs`` items) list the providers with a ``sync_url`` the visitor has no partner
id for yet, ``%DID%`` being the uuid. Nothing here raises.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from edge.config import Destination, ProviderConfig

_MACRO = re.compile(
    r"%(alias|rnd|timestamp|did|mcid|http_proto|region|dpid_(\d+))%"
    r"|\$\{(GDPR)\}|\$\{GDPR_CONSENT_(\d+)\}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MacroContext:
    uuid: str
    now: float
    region: int
    https: bool = False
    mid: str | None = None
    partner_ids: Mapping[int, str] = field(default_factory=dict)
    gdpr: int | None = None
    gdpr_consent: str | None = None


def expand(template: str, ctx: MacroContext, *, alias: str = "", https: bool | None = None) -> str:
    """`template` with every macro replaced (see the module docstring)."""
    proto = "https" if (ctx.https if https is None else https) else "http"

    def one(m: re.Match[str]) -> str:
        name = (m.group(1) or "").lower()
        if m.group(2):
            return quote(ctx.partner_ids.get(int(m.group(2)), ""), safe="")
        if m.group(3):
            return "1" if ctx.gdpr == 1 else "0"
        if m.group(4):
            return quote(ctx.gdpr_consent or "", safe="")
        values = {
            "alias": alias,
            "rnd": str(secrets.randbelow(10**12)),
            "timestamp": str(int(ctx.now * 1000)),
            "did": ctx.uuid,
            "mcid": ctx.mid or "",
            "http_proto": proto,
            "region": str(ctx.region),
        }
        return values[name]

    return _MACRO.sub(one, template)


def _aliases(dest: Destination, segments: Iterable[int]) -> list[str]:
    return [dest.mappings[sid] for sid in sorted(segments) if sid in dest.mappings]


def url_dests(
    destinations: Iterable[Destination],
    segments: Iterable[int],
    new_segments: Iterable[int],
    ctx: MacroContext,
) -> list[dict[str, Any]]:
    """The ``dests`` items for a visitor in `segments` who just entered `new_segments`."""
    held, fresh = set(segments), set(new_segments)
    out: list[dict[str, Any]] = []
    for dest in destinations:
        if dest.kind != "url" or not fresh & set(dest.mappings):
            continue
        encoded = [quote(a, safe="") for a in _aliases(dest, held)]
        groups = [dest.delimiter.join(encoded)] if dest.serialize else encoded
        for alias in groups:
            out.append({
                "id": str(dest.id),
                "y": dest.tag,
                "c": expand(dest.url, ctx, alias=alias),
                "e": expand(dest.secure_url or dest.url, ctx, alias=alias, https=True),
                "hr": dest.hide_referrer,
            })
    return out


def cookie_domain(configured: str | None, host: str) -> str:
    """The ``dmn`` of a cookie destination (see the module docstring)."""
    if configured:
        return configured
    name = _hostname(host)
    if name.startswith("www."):
        name = name[4:]
    if not name or "." not in name or _is_ip(name):
        return name
    return "." + name


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def cookie_value(dest: Destination, aliases: list[str]) -> str:
    if dest.cookie_key:
        if dest.serialize:
            value = f"{dest.cookie_key}={dest.delimiter.join(aliases)}"
        else:
            value = "&".join(f"{dest.cookie_key}={a}" for a in aliases)
    else:
        value = (dest.delimiter if dest.serialize else "&").join(aliases)
    return value.replace(" ", "%20").replace(";", "%3B")


def cookie_stuff(
    destinations: Iterable[Destination], segments: Iterable[int], host: str
) -> list[dict[str, Any]]:
    """The ``stuff`` items for a visitor in `segments`, requested on `host`."""
    held = set(segments)
    out: list[dict[str, Any]] = []
    for dest in destinations:
        aliases = _aliases(dest, held) if dest.kind == "cookie" else []
        if aliases:
            out.append({
                "cn": dest.cookie_name,
                "cv": cookie_value(dest, aliases),
                "ttl": dest.ttl_days,
                "dmn": cookie_domain(dest.domain, host),
            })
    return out


def id_syncs(
    providers: Iterable[ProviderConfig], ctx: MacroContext, *, ttl_s: int
) -> list[dict[str, Any]]:
    """The ``ibs`` items: partner sync URLs for providers without a known partner id."""
    out: list[dict[str, Any]] = []
    for p in providers:
        if not p.sync_url or p.dpid in ctx.partner_ids:
            continue
        url = expand(p.sync_url, ctx)
        out.append({
            "id": str(p.dpid),
            "ttl": max(ttl_s // 60, 1),
            "tag": "img",
            "fireURLSync": 1,
            "syncOnPage": 0,
            "url": [url],
        })
    return out
