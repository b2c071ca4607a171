"""HTTP/1.1 message framing for the edge's provider transport: pure functions, no I/O.

``parse_head`` reads a response head, ``framing`` decides how its body is delimited,
``chunk_size`` reads a chunk-size line and ``encode_request`` writes a request.

Errors: ``MalformedResponse(ValueError)`` for a response that breaks HTTP/1.1;
``httpx.LocalProtocolError`` for a request header holding CR or LF.
"""

from __future__ import annotations

import re

import httpx

Header = tuple[bytes, bytes]

_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
_FRAMING_HEADERS = (b"host", b"content-length", b"transfer-encoding")


class MalformedResponse(ValueError):
    """A response head or body framing that breaks HTTP/1.1."""


def parse_head(head: bytes) -> tuple[bytes, int, bytes, list[Header]]:
    """(version, status, reason, headers) of a response head ending in CRLF CRLF."""
    lines = head.removesuffix(b"\r\n\r\n").split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in _VERSIONS or len(code) != 3 or not code.isdigit():
        raise MalformedResponse(f"malformed status line {lines[0][:80]!r}")
    headers: list[Header] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.fullmatch(name):
            raise MalformedResponse(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip(b" \t")))
    return version, int(code), reason, headers


def framing(
    method: bytes, version: bytes, status: int, headers: list[Header]
) -> tuple[str, int, bool]:
    """(mode, length, keep_alive): mode is "none", "length", "chunked" or "eof"."""
    tokens: set[bytes] = set()
    encoding: bytes | None = None
    lengths: set[bytes] = set()
    for name, value in headers:
        lname = name.lower()
        if lname == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
        elif lname == b"transfer-encoding":
            encoding = value.split(b",")[-1].strip().lower()
        elif lname == b"content-length":
            lengths.update(v.strip() for v in value.split(b","))
    if version == b"HTTP/1.1":
        keep = b"close" not in tokens
    else:
        keep = b"keep-alive" in tokens
    if method == b"HEAD" or status in (204, 304) or status < 200:
        return "none", 0, keep
    if encoding is not None:
        return ("chunked", 0, keep) if encoding == b"chunked" else ("eof", 0, False)
    if not lengths:
        return "eof", 0, False
    length = lengths.pop()
    if lengths or not length.isdigit():
        raise MalformedResponse("invalid Content-Length")
    n = int(length)
    return ("length", n, keep) if n else ("none", 0, keep)


def chunk_size(line: bytes) -> int:
    """The size of a chunk from its size line (extensions ignored)."""
    digits = line.split(b";", 1)[0].strip()
    try:
        if not digits or digits.startswith((b"-", b"+", b"0x", b"0X")):
            raise ValueError(digits)
        return int(digits, 16)
    except ValueError:
        raise MalformedResponse(f"malformed chunk size {line[:40]!r}") from None


def encode_request(request: httpx.Request, body: bytes) -> bytes:
    """The request's bytes: request line, headers (one Host, our Content-Length), body."""
    method = request.method.encode("ascii")
    parts = [method, b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    host = False
    sized = bool(body)
    for name, value in request.headers.raw:
        lname = name.lower()
        if lname in _FRAMING_HEADERS:
            if lname != b"host":
                sized = True
                continue
            if host:
                continue
            host = True
        if b"\r" in value or b"\n" in value or not _TOKEN.fullmatch(name):
            raise httpx.LocalProtocolError(f"invalid request header {name[:40]!r}")
        parts += (name, b": ", value, b"\r\n")
    if not host:
        parts[4:4] = (b"Host: ", request.url.netloc, b"\r\n")
    if sized:
        parts.append(b"Content-Length: %d\r\n" % len(body))
    parts += (b"\r\n", body)
    return b"".join(parts)
