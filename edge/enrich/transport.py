"""A lean HTTP/1.1 transport for httpx: plain ``http://`` over asyncio streams, with keep-alive.

``LeanTransport(limits=..., fallback=...)`` is an ``httpx.AsyncBaseTransport``. ``http://``
requests go over ``asyncio.open_connection`` with a pool of idle connections per (host, port);
everything else (``https://``) goes to the fallback transport (by default an
``httpx.AsyncHTTPTransport`` with the same limits, made on first use). It exists because
httpcore's pool and its anyio backend were most of the edge's CPU on the provider path.

Contract:
- Request: one write of the request line, the headers (Host and Content-Length added when
  missing) and the body (read whole: the edge's bodies are small).
- Response: a head of at most ``max_head_bytes``; interim 1xx heads are skipped. The body is
  framed by chunked Transfer-Encoding (decoded), Content-Length, or the connection's end (then
  the connection is not reused). It is streamed as it is read, so a reader may stop early: a
  connection whose body was not read to the end is closed, never reused.
- Keep-alive: idle connections are reused last-in first-out, at most
  ``limits.max_keepalive_connections`` per (host, port), each for at most
  ``limits.keepalive_expiry`` seconds; ``Connection: close`` (from either side), or HTTP/1.0
  without ``keep-alive``, ends a connection after its response.
  ``limits.max_connections`` bounds the requests in flight, waiting at most the pool timeout.
- A reused connection that fails before its response head (the server closed it while idle)
  is retried once on a new connection: the edge's calls are lookups, safe to send again.
- Timeouts come from ``request.extensions["timeout"]`` (connect, read, write, pool seconds;
  None means none). Cancellation closes the connection in use.

Errors (httpx's own tree, as its default transport raises them):
- ``httpx.ConnectTimeout``, ``httpx.ReadTimeout``, ``httpx.WriteTimeout``, ``httpx.PoolTimeout``.
- ``httpx.ConnectError``: no connection could be opened.
- ``httpx.ReadError`` / ``httpx.WriteError``: the socket failed while in use.
- ``httpx.RemoteProtocolError``: a malformed response, or the server closed the connection
  before the response was complete.
- ``httpx.LocalProtocolError``: a request header holding CR or LF.
The pure framing (edge/enrich/http1.py) raises ``MalformedResponse(ValueError)``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from typing import Any

import httpx

from edge.enrich.http1 import (
    MalformedResponse,
    chunk_size,
    encode_request,
    framing,
    parse_head,
)

Key = tuple[str, int]

DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=4.0
)
_CHUNK = 64 * 1024


class _Stale(Exception):
    """A reused connection failed before any byte of its response."""


# -- I/O ----------------------------------------------------------------------------------------


async def _io[T](aw: Awaitable[T], timeout_s: float | None) -> T:
    """Await one read, with httpx's errors for a timeout, a socket error or a short read."""
    try:
        async with asyncio.timeout(timeout_s):
            return await aw
    except TimeoutError:
        raise httpx.ReadTimeout("timed out reading the response") from None
    except asyncio.IncompleteReadError:
        raise httpx.RemoteProtocolError("server closed the connection mid-response") from None
    except asyncio.LimitOverrunError:
        raise httpx.RemoteProtocolError("response line or head too long") from None
    except OSError as e:
        raise httpx.ReadError(f"{type(e).__name__}: {e}") from None


class _Conn:
    __slots__ = ("reader", "writer", "idle_since", "reused")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0
        self.reused = False

    def usable(self) -> bool:
        """Still open, and nothing arrived while idle (EOF or a stray response)."""
        # StreamReader has no public "bytes buffered"; a stray byte means a dead exchange.
        buffered = len(getattr(self.reader, "_buffer", b""))
        return not (self.writer.is_closing() or self.reader.at_eof() or buffered)

    def close(self) -> None:
        self.writer.transport.abort()


class _Body(httpx.AsyncByteStream):
    """The response body as read from the connection, which goes back to the pool at its end."""

    def __init__(
        self, owner: LeanTransport, key: Key, conn: _Conn, mode: str, length: int, keep: bool,
        read_s: float | None,
    ) -> None:
        self._owner = owner
        self._key = key
        self._conn: _Conn | None = conn
        self._mode = mode
        self._left = length
        self._keep = keep
        self._read_s = read_s
        if mode == "none":
            self._finish(keep)

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        try:
            chunk = await self._next(conn.reader)
        except BaseException:
            self._finish(False)
            raise
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self._finish(False)  # a no-op once the body was read to its end

    def _finish(self, reuse: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._owner._release(self._key, conn if reuse else None)
            if not reuse:
                conn.close()

    async def _next(self, reader: asyncio.StreamReader) -> bytes:
        if self._mode == "eof":
            data = await _io(reader.read(_CHUNK), self._read_s)
            if not data:
                self._finish(False)
            return data
        if self._mode == "chunked" and not self._left:
            line = await _io(reader.readuntil(b"\r\n"), self._read_s)
            self._left = _size(line)
            if not self._left:
                while await _io(reader.readuntil(b"\r\n"), self._read_s) != b"\r\n":
                    pass  # trailers are dropped
                self._finish(self._keep)
                return b""
        data = await _io(reader.read(min(self._left, _CHUNK)), self._read_s)
        if not data:
            raise httpx.RemoteProtocolError("server closed the connection mid-body")
        self._left -= len(data)
        if not self._left:
            if self._mode == "chunked":
                if await _io(reader.readexactly(2), self._read_s) != b"\r\n":
                    raise httpx.RemoteProtocolError("chunk not followed by CRLF")
            else:
                self._finish(self._keep)
        return data


def _size(line: bytes) -> int:
    try:
        return chunk_size(line)
    except MalformedResponse as e:
        raise httpx.RemoteProtocolError(str(e)) from None


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        fallback: httpx.AsyncBaseTransport | None = None,
        max_head_bytes: int = 64 * 1024,
    ) -> None:
        self._limits = limits
        self._fallback = fallback
        self._max_head = max_head_bytes
        self._expiry = limits.keepalive_expiry
        self._max_idle = limits.max_keepalive_connections
        n = limits.max_connections
        self._slots = asyncio.Semaphore(n) if n is not None else None
        self._idle: dict[Key, list[_Conn]] = {}
        self._swept = time.monotonic()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            return await self.fallback.handle_async_request(request)
        timeouts: Mapping[str, Any] = request.extensions.get("timeout", {})
        data = encode_request(request, await request.aread())
        await self._acquire(timeouts.get("pool"))
        try:
            return await self._exchange((url.host, url.port or 80), request, data, timeouts)
        except BaseException:
            self._release(None, None)
            raise

    @property
    def fallback(self) -> httpx.AsyncBaseTransport:
        """The transport for everything but plain http (made on first use)."""
        if self._fallback is None:
            self._fallback = httpx.AsyncHTTPTransport(limits=self._limits)
        return self._fallback

    async def aclose(self) -> None:
        self._closed = True
        for stack in self._idle.values():
            for conn in stack:
                conn.close()
        self._idle.clear()
        if self._fallback is not None:
            await self._fallback.aclose()

    # -- one exchange -------------------------------------------------------------------------

    async def _exchange(
        self, key: Key, request: httpx.Request, data: bytes, timeouts: Mapping[str, Any]
    ) -> httpx.Response:
        conn = self._take(key)
        if conn is not None:
            try:
                return await self._roundtrip(key, conn, request, data, timeouts)
            except _Stale:
                pass  # closed by _roundtrip; once more on a new connection
        conn = await self._connect(key, timeouts.get("connect"))
        try:
            return await self._roundtrip(key, conn, request, data, timeouts)
        except _Stale:
            raise httpx.RemoteProtocolError("server closed the connection") from None

    async def _roundtrip(
        self, key: Key, conn: _Conn, request: httpx.Request, data: bytes,
        timeouts: Mapping[str, Any],
    ) -> httpx.Response:
        read_s = timeouts.get("read")
        method = request.method.encode("ascii")
        try:
            await self._write(conn, data, timeouts.get("write"))
            version, status, reason, headers = parse_head(await self._head(conn, read_s))
            while 100 <= status < 200:
                version, status, reason, headers = parse_head(await self._head(conn, read_s))
            mode, length, keep = framing(method, version, status, headers)
        except MalformedResponse as e:
            conn.close()
            raise httpx.RemoteProtocolError(str(e)) from None
        except BaseException:
            conn.close()
            raise
        keep = keep and request.headers.get("connection", "").lower() != "close"
        stream = _Body(self, key, conn, mode, length, keep, read_s)
        extensions = {"http_version": version, "reason_phrase": reason}
        return httpx.Response(status, headers=headers, stream=stream, extensions=extensions)

    async def _connect(self, key: Key, connect_s: float | None) -> _Conn:
        host, port = key
        try:
            async with asyncio.timeout(connect_s):
                r, w = await asyncio.open_connection(host, port, limit=self._max_head)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as e:
            raise httpx.ConnectError(f"{host}:{port}: {type(e).__name__}: {e}") from None
        return _Conn(r, w)

    async def _write(self, conn: _Conn, data: bytes, write_s: float | None) -> None:
        conn.writer.write(data)
        if not conn.writer.transport.get_write_buffer_size():
            return  # all sent at once: the common case
        try:
            async with asyncio.timeout(write_s):
                await conn.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending the request") from None
        except OSError as e:
            if conn.reused:
                raise _Stale from None
            raise httpx.WriteError(f"{type(e).__name__}: {e}") from None

    async def _head(self, conn: _Conn, read_s: float | None) -> bytes:
        try:
            async with asyncio.timeout(read_s):
                head = await conn.reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the response") from None
        except asyncio.IncompleteReadError as e:
            if conn.reused and not e.partial:
                raise _Stale from None
            raise httpx.RemoteProtocolError("server closed the connection mid-head") from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError(f"response head over {self._max_head} bytes") from None
        except OSError as e:
            if conn.reused:
                raise _Stale from None
            raise httpx.ReadError(f"{type(e).__name__}: {e}") from None
        conn.reused = False  # a response arrived: no retry past this point
        return head

    # -- the pool -----------------------------------------------------------------------------

    async def _acquire(self, pool_s: float | None) -> None:
        if self._slots is None:
            return
        if not self._slots.locked():
            await self._slots.acquire()  # does not wait
            return
        try:
            async with asyncio.timeout(pool_s):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection slot in time") from None

    def _take(self, key: Key) -> _Conn | None:
        """The most recently used idle connection to `key` that is still good, or None."""
        stack = self._idle.get(key)
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            if self._expiry is not None and now - conn.idle_since > self._expiry:
                for old in (conn, *stack):  # the rest of the stack is older still
                    old.close()
                stack.clear()
                return None
            if conn.usable():
                conn.reused = True
                return conn
            conn.close()
        return None

    def _release(self, key: Key | None, conn: _Conn | None) -> None:
        """Free a request's slot; keep `conn` (if any) idle for reuse."""
        if self._slots is not None:
            self._slots.release()
        if conn is None or key is None:
            return
        if self._closed or self._max_idle == 0:
            conn.close()
            return
        now = time.monotonic()
        conn.idle_since = now
        stack = self._idle.setdefault(key, [])
        if self._max_idle is not None and len(stack) >= self._max_idle:
            stack.pop(0).close()
        stack.append(conn)
        if self._expiry is not None and now - self._swept > self._expiry:
            self._sweep(now, self._expiry)

    def _sweep(self, now: float, expiry: float) -> None:
        """Close idle connections past their expiry, for every host."""
        self._swept = now
        for stack in self._idle.values():
            while stack and now - stack[0].idle_since > expiry:
                stack.pop(0).close()
