"""A DCS request (query string and form body) parsed into a ``DcsRequest``; pure.

Keys: ``c_`` (customer), ``d_`` (Audience Manager), ``h_`` (HTTP headers), ``p_`` (private:
evaluated, never stored or logged) and unprefixed keys. Every key that is not a control
key (``CONTROL_KEYS``: response switches, ids, filters, consent) is a *signal* for trait
evaluation; a signal value is serialized (``a,b,c``, quoted strings keep commas) and repeated
keys add values. ``h_`` signals come from the request headers (``header_signals``); a header
wins over the same key in the query.

Limits (``check_size``): a query string over 8 KiB answers HTTP 414 and a POST body over
32 KiB answers HTTP 413, both with ``X-Error: 0`` and no processing. Audience Manager
documents the limits but not the answer; a 4xx tells the caller its request was dropped.

Declared ids (``d_cid=<dpid>%01<id>``, ``d_cid_ic=<code>%01<id>[%01<authState>]``, and the
deprecated ``d_dpid``/``d_dpuuid`` and ``dpid``/``dpuuid`` pairs): a malformed one is
reported with 300 and dropped, all malformed gives 104; more than 3 in one namespace gives
310 and more than 10 in all gives 301, and each id dropped for a limit gives 309.

Control values (first occurrence wins): an invalid ``d_uuid`` gives 102 and an invalid
``d_mid`` gives 101 (each then ignored); a ``d_cb`` that is not a JavaScript name path
(identifiers, dots, ``[<digits>]``) gives code 0 and the answer is plain JSON.

Errors: ``ParamError`` (311, a badly encoded parameter) and ``TooLarge`` from
``edge.dcs.errors``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from edge.contracts.ids import is_uuid
from edge.dcs import errors as E
from edge.dcs.errors import DcsError, TooLarge
from edge.dcs.wire import pairs, values

GET_LIMIT = 8 * 1024
POST_LIMIT = 32 * 1024
MAX_CIDS = 10
MAX_CIDS_PER_NAMESPACE = 3
CID_SEPARATOR = "\x01"

CONTROL_KEYS = frozenset(
    {"d_rtbd", "d_jsonv", "d_dst", "d_cb", "d_cts", "d_uuid", "d_mid", "d_cid", "d_cid_ic",
     "d_dpid", "d_dpuuid", "dpid", "dpuuid", "d_sid", "d_tdpid", "d_tdpid_ic", "d_coppa",
     "gdpr", "gdpr_consent", "d_rd", "d_orgid", "d_nsid", "d_ld", "d_px", "d_blob",
     "d_verify", "d_ver", "d_visid_ver", "d_fieldgroup", "d_dil_ver", "d_bust", "_ts", "ts",
     "d_full", "d_coop_safe", "d_coop_unsafe", "d_cf", "d_cid_ns", "redir"}
)
HEADER_KEYS = {
    "host": "h_host",
    "user-agent": "h_user-agent",
    "accept-language": "h_accept-language",
    "referer": "h_referer",
    "date": "h_date",
}
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[[0-9]+\])*", re.ASCII)
_CALLBACK_MAX = 128
_MID = re.compile(r"[0-9]{38}")


@dataclass(frozen=True)
class DeclaredId:
    """One declared id: ``kind`` "dpid" (namespace is the dpid) or "ic" (integration code)."""

    kind: str
    namespace: str
    id: str
    auth_state: int | None = None

    @property
    def alias(self) -> str:
        """The profile store alias namespace: ``dpid:<n>`` or ``cid_ic:<code>``."""
        return f"dpid:{self.namespace}" if self.kind == "dpid" else f"cid_ic:{self.namespace}"


@dataclass(frozen=True)
class DcsRequest:
    signals: dict[str, list[str]] = field(default_factory=dict)
    json: bool = False  # d_rtbd=json
    jsonv: int | None = None
    dst: bool = False
    callback: str | None = None
    cts: int | None = None
    sids: tuple[int, ...] = ()
    tdpids: tuple[int, ...] = ()
    tdpid_ics: tuple[str, ...] = ()
    uuid: str | None = None
    mid: str | None = None
    cids: tuple[DeclaredId, ...] = ()
    gdpr: int | None = None
    gdpr_consent: str | None = None
    coppa: bool = False
    rd: str | None = None
    ptfm: str | None = None
    caller: str | None = None
    orgid: str | None = None  # d_orgid: the customer's Experience Cloud org id
    errors: tuple[DcsError, ...] = ()

    @property
    def filtered(self) -> bool:
        """Whether d_tdpid or d_tdpid_ic restricts trait evaluation."""
        return bool(self.tdpids or self.tdpid_ics)

    def stored_signals(self) -> dict[str, list[str]]:
        """The signals that may be stored or logged: every key but ``p_`` ones."""
        return {k: list(v) for k, v in self.signals.items() if not k.startswith("p_")}


def check_size(query: bytes, body: bytes = b"") -> None:
    """Raise ``TooLarge`` (414 for the query string, 413 for the body) over the limits."""
    if len(query) > GET_LIMIT:
        raise TooLarge(414, GET_LIMIT)
    if len(body) > POST_LIMIT:
        raise TooLarge(413, POST_LIMIT)


def header_signals(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """The ``h_`` signals of a request's headers (``h_referrer`` mirrors ``h_referer``)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    out = {key: [lowered[name]] for name, key in HEADER_KEYS.items() if lowered.get(name)}
    if "h_referer" in out:
        out["h_referrer"] = out["h_referer"]
    return out


def parse_pairs(items: Iterable[tuple[str, str]], headers: Mapping[str, str]) -> DcsRequest:
    """A ``DcsRequest`` from decoded pairs (query first, then body) and the headers."""
    raw: dict[str, list[str]] = {}
    signals: dict[str, list[str]] = {}
    for key, value in items:
        if not key:
            continue
        raw.setdefault(key, []).append(value)
        if key not in CONTROL_KEYS:
            signals.setdefault(key, []).extend(values(value))
    signals.update(header_signals(headers))
    errs: list[DcsError] = []
    first = {k: v[0] for k, v in raw.items()}
    return DcsRequest(
        signals=signals,
        json=first.get("d_rtbd", "").lower() == "json",
        jsonv=_int_in(first.get("d_jsonv"), (0, 1)),
        dst=first.get("d_dst") == "1",
        callback=_callback(first.get("d_cb"), errs),
        cts=_int_in(first.get("d_cts"), (1, 2)),
        sids=_ints(raw.get("d_sid", ())),
        tdpids=_ints(raw.get("d_tdpid", ())),
        tdpid_ics=tuple(v for text in raw.get("d_tdpid_ic", ()) for v in values(text)),
        uuid=_checked(first.get("d_uuid"), is_uuid, E.INVALID_UUID, errs),
        mid=_checked(first.get("d_mid"), lambda v: bool(_MID.fullmatch(v)), E.INVALID_MID, errs),
        cids=declared_ids(raw, errs),
        gdpr=_int_in(first.get("gdpr"), (0, 1)),
        gdpr_consent=first.get("gdpr_consent") or None,
        coppa=first.get("d_coppa", "").lower() in ("1", "true"),
        rd=first.get("d_rd") or None,
        ptfm=first.get("d_ptfm") or None,
        caller=first.get("d_caller") or None,
        orgid=first.get("d_orgid") or None,
        errors=tuple(errs),
    )


def parse_request(
    query: bytes | str, body: bytes | str = b"", headers: Mapping[str, str] | None = None
) -> DcsRequest:
    """Check the limits, decode the query string and form body, and parse them."""
    q = query.encode("utf-8") if isinstance(query, str) else query
    b = body.encode("utf-8") if isinstance(body, str) else body
    check_size(q, b)
    return parse_pairs([*pairs(q), *pairs(b)], headers or {})


def _int_in(text: str | None, allowed: tuple[int, ...]) -> int | None:
    if text is None or not text.isdigit() or int(text) not in allowed:
        return None
    return int(text)


def _ints(texts: Iterable[str]) -> tuple[int, ...]:
    found = (v.strip() for text in texts for v in values(text))
    return tuple(dict.fromkeys(int(v) for v in found if v.isascii() and v.isdigit()))


def _callback(name: str | None, errs: list[DcsError]) -> str | None:
    if name is None:
        return None
    if len(name) <= _CALLBACK_MAX and _CALLBACK.fullmatch(name):
        return name
    errs.append(E.error(E.UNSPECIFIED, "invalid d_cb callback name, answering plain JSON"))
    return None


def _checked(
    value: str | None, valid: Callable[[str], bool], code: int, errs: list[DcsError]
) -> str | None:
    if value is None or value == "":
        return None
    if valid(value):
        return value
    errs.append(E.error(code, value[:64]))
    return None


def declared_ids(raw: Mapping[str, list[str]], errs: list[DcsError]) -> tuple[DeclaredId, ...]:
    """The declared ids of a request, within the limits (see the module docstring)."""
    given: list[str] = []
    parsed: list[DeclaredId] = []
    for kind, key in (("dpid", "d_cid"), ("ic", "d_cid_ic")):
        for text in raw.get(key, ()):
            given.append(text)
            cid = _declared(kind, text)
            if cid is None:
                errs.append(E.error(E.INVALID_CID, text.replace(CID_SEPARATOR, "%01")[:64]))
            else:
                parsed.append(cid)
    for dpid_key, id_key in (("d_dpid", "d_dpuuid"), ("dpid", "dpuuid")):
        if dpid_key in raw and id_key in raw:
            legacy = _declared("dpid", f"{raw[dpid_key][0]}{CID_SEPARATOR}{raw[id_key][0]}")
            if legacy is not None:
                parsed.append(legacy)
    if given and not parsed:
        errs.append(E.error(E.ALL_CIDS_INVALID))
    return _limited(parsed, errs)


def _declared(kind: str, text: str) -> DeclaredId | None:
    parts = text.split(CID_SEPARATOR)
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        return None
    if kind == "dpid" and not (parts[0].isascii() and parts[0].isdigit()):
        return None
    auth: int | None = None
    if len(parts) == 3:
        if parts[2] not in ("0", "1", "2"):
            return None
        auth = int(parts[2])
    namespace = str(int(parts[0])) if kind == "dpid" else parts[0]
    return DeclaredId(kind, namespace, parts[1], auth)


def _limited(cids: list[DeclaredId], errs: list[DcsError]) -> tuple[DeclaredId, ...]:
    per_namespace: dict[str, int] = {}
    kept: list[DeclaredId] = []
    crowded: set[str] = set()
    for cid in cids:
        count = per_namespace.get(cid.alias, 0)
        if count >= MAX_CIDS_PER_NAMESPACE:
            if cid.alias not in crowded:
                errs.append(E.error(E.NAMESPACE_CIDS, cid.namespace))
                crowded.add(cid.alias)
            errs.append(E.error(E.CID_DISCARDED, cid.id[:64]))
            continue
        per_namespace[cid.alias] = count + 1
        kept.append(cid)
    if len(kept) > MAX_CIDS:
        errs.append(E.error(E.MAX_CIDS))
        errs.extend(E.error(E.CID_DISCARDED, cid.id[:64]) for cid in kept[MAX_CIDS:])
        kept = kept[:MAX_CIDS]
    return tuple(kept)
