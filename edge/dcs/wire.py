"""The low level of the DCS wire form: strict percent-decoding, pairs, serialized values.

- ``decode(raw)``: ``+`` is a space, ``%XX`` needs two hex digits and the bytes must be
  UTF-8; anything else raises ``ParamError`` with code 311 (the DCS then disregards the whole
  request, as documented: ``d_site=%esid!`` is bad, ``d_site=%25esid!`` is good).
- ``pairs(raw)``: ``k1=v1&k2=v2`` into decoded ``(key, value)`` pairs, in order, repeated
  keys kept; a piece without ``=`` is a key with an empty value; empty pieces are skipped.
- ``values(text)``: a serialized value ``a,b,c`` into ``["a", "b", "c"]``; double-quoted
  strings keep their commas and lose their quotes (``"41 to 55"`` -> ``41 to 55``).

Errors: ``edge.dcs.errors.ParamError`` (code 311).
"""

from __future__ import annotations

from edge.dcs.errors import BAD_ENCODING, ParamError, error

_HEX = frozenset(b"0123456789abcdefABCDEF")


def _bad(raw: bytes, why: str) -> ParamError:
    shown = raw[:40].decode("utf-8", "replace")
    return ParamError(error(BAD_ENCODING, f"{why} in {shown!r}"))


def decode(raw: bytes) -> str:
    """One query component, percent-decoded strictly (see the module docstring)."""
    if b"%" not in raw and b"+" not in raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(raw, "bytes that are not UTF-8") from None
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == 0x25:  # '%'
            hi, lo = raw[i + 1 : i + 2], raw[i + 2 : i + 3]
            if not hi or not lo or hi[0] not in _HEX or lo[0] not in _HEX:
                raise _bad(raw, "a bad %-escape")
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(0x20 if c == 0x2B else c)
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(raw, "escapes that are not UTF-8") from None


def pairs(raw: bytes | str) -> list[tuple[str, str]]:
    """Decoded ``(key, value)`` pairs of a query string or form body, in order."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    found: list[tuple[str, str]] = []
    for piece in data.split(b"&"):
        if not piece:
            continue
        key, _, value = piece.partition(b"=")
        found.append((decode(key), decode(value)))
    return found


def values(text: str) -> list[str]:
    """The values of one serialized pair value; empty values are dropped."""
    if "," not in text and '"' not in text:
        return [text] if text else []
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == "," and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return [_unquote(v) for v in out if _unquote(v)]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value
