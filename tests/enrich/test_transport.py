"""LeanTransport against real sockets: raw asyncio servers on 127.0.0.1 that may misbehave."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from edge.config import ProviderConfig
from edge.enrich import Enricher, Hit
from edge.enrich.client import ProviderClient, ProviderFailed, ProviderRequest
from edge.enrich.http1 import MalformedResponse, chunk_size, encode_request, framing, parse_head
from edge.enrich.transport import LeanTransport
from tests.enrich._support import UUID, config, provider

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Handler = Callable[["Server", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """(head, body) of the next request on a connection; None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


@dataclass
class Server:
    """A raw HTTP server: `handler` owns each connection; connections and requests counted."""

    handler: Handler
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    closed_by_peer: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._on_conn, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._server.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def next_request(self, reader: asyncio.StreamReader) -> bytes | None:
        got = await read_request(reader)
        if got is None:
            return None
        self.requests.append(got[0] + got[1])
        return got[0] + got[1]

    async def wait_peer_close(self, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        self.closed_by_peer.set()

    async def _on_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handler(self, reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def replying(*responses: bytes, close: bool = False) -> Handler:
    """Answer each request with the next response in turn (the last one repeats)."""

    async def handler(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        n = 0
        while await srv.next_request(r) is not None:
            w.write(responses[min(n, len(responses) - 1)])
            await w.drain()
            n += 1
            if close:
                return

    return handler


def run(
    handler: Handler,
    body: Callable[[httpx.AsyncClient, str, Server], Awaitable[Any]],
    **kw: Any,
) -> tuple[Any, Server]:
    async def main() -> tuple[Any, Server]:
        srv = Server(handler)
        url = await srv.start()
        try:
            async with httpx.AsyncClient(transport=LeanTransport(**kw)) as http:
                return await body(http, url, srv), srv
        finally:
            await srv.stop()

    return asyncio.run(main())


async def calls(http: httpx.AsyncClient, url: str, n: int, pause_s: float = 0.0) -> list[bytes]:
    out = []
    for _ in range(n):
        out.append((await http.get(url + "/x")).content)
        if pause_s:
            await asyncio.sleep(pause_s)
    return out


# -- pure parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head, expected",
    [
        (b"HTTP/1.1 200 OK\r\nA: 1\r\nB:  two \r\n\r\n",
         (b"HTTP/1.1", 200, b"OK", [(b"A", b"1"), (b"B", b"two")])),
        (b"HTTP/1.0 404\r\n\r\n", (b"HTTP/1.0", 404, b"", [])),
        (b"HTTP/1.1 503 Service Unavailable\r\n\r\n",
         (b"HTTP/1.1", 503, b"Service Unavailable", [])),
    ],
)
def test_parse_head(head: bytes, expected: Any) -> None:
    assert parse_head(head) == expected


@pytest.mark.parametrize(
    "head",
    [b"HTTP/1.1 OK\r\n\r\n", b"HTTP/2 200 OK\r\n\r\n", b"garbage\r\n\r\n", b"HTTP/1.1 20x\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n"],
)
def test_parse_head_rejects(head: bytes) -> None:
    with pytest.raises(MalformedResponse):
        parse_head(head)


CL = (b"Content-Length", b"7")


@pytest.mark.parametrize(
    "method, version, status, headers, expected",
    [
        (b"GET", b"HTTP/1.1", 200, [CL], ("length", 7, True)),
        (b"GET", b"HTTP/1.1", 200, [(b"Content-Length", b"7, 7")], ("length", 7, True)),
        (b"GET", b"HTTP/1.1", 200, [(b"Content-Length", b"0")], ("none", 0, True)),
        (b"HEAD", b"HTTP/1.1", 200, [CL], ("none", 0, True)),
        (b"GET", b"HTTP/1.1", 204, [], ("none", 0, True)),
        (b"GET", b"HTTP/1.1", 304, [CL], ("none", 0, True)),
        (b"GET", b"HTTP/1.1", 200, [(b"Transfer-Encoding", b"chunked"), CL], ("chunked", 0, True)),
        (b"GET", b"HTTP/1.1", 200, [(b"Transfer-Encoding", b"gzip")], ("eof", 0, False)),
        (b"GET", b"HTTP/1.1", 200, [], ("eof", 0, False)),
        (b"GET", b"HTTP/1.1", 200, [CL, (b"Connection", b"Close")], ("length", 7, False)),
        (b"GET", b"HTTP/1.0", 200, [CL], ("length", 7, False)),
        (b"GET", b"HTTP/1.0", 200, [CL, (b"connection", b"Keep-Alive")], ("length", 7, True)),
    ],
)
def test_framing(method: bytes, version: bytes, status: int, headers: Any, expected: Any) -> None:
    assert framing(method, version, status, headers) == expected


@pytest.mark.parametrize("value", [b"x", b"-1", b"7, 8", b""])
def test_framing_rejects_bad_content_length(value: bytes) -> None:
    with pytest.raises(MalformedResponse):
        framing(b"GET", b"HTTP/1.1", 200, [(b"Content-Length", value)])


@pytest.mark.parametrize(
    "line, size", [(b"5\r\n", 5), (b"1a;ext=1\r\n", 26), (b"0\r\n", 0), (b"x\r\n", None),
                   (b"-1\r\n", None), (b"0x5\r\n", None), (b"\r\n", None)],
)
def test_chunk_size(line: bytes, size: int | None) -> None:
    if size is None:
        with pytest.raises(MalformedResponse):
            chunk_size(line)
    else:
        assert chunk_size(line) == size


@pytest.mark.parametrize(
    "headers, body, expected",
    [
        ([("Host", "a")], b"", b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
        ([("Host", "a"), ("Host", "b")], b"", b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
        ([("X-A", "1")], b"", b"GET /p?q=1 HTTP/1.1\r\nHost: h.test\r\nX-A: 1\r\n\r\n"),
        ([("Host", "a"), ("Transfer-Encoding", "chunked")], b"abc",
         b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
        ([("Host", "a"), ("Content-Length", "0")], b"",
         b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
    ],
)
def test_encode_request(headers: Any, body: bytes, expected: bytes) -> None:
    request = httpx.Request("GET", "http://h.test/p?q=1")
    request.headers = httpx.Headers(headers)
    assert encode_request(request, body) == expected


def test_encode_request_rejects_header_injection() -> None:
    request = httpx.Request("GET", "http://h.test/", headers={"X-A": "1\r\nX-B: 2"})
    with pytest.raises(httpx.LocalProtocolError):
        encode_request(request, b"")



# -- over real sockets --------------------------------------------------------------------------

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nT: x\r\n\r\n"
)


@pytest.mark.parametrize(
    "response, close, body, connections",
    [
        (OK, False, b"ok", 1),
        (CHUNKED, False, b"hello world", 1),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, False, b"ok", 1),
        (b"HTTP/1.1 204 No Content\r\n\r\n", False, b"", 1),
        (b"HTTP/1.1 200 OK\r\n\r\nup to the end", True, b"up to the end", 3),
        # the server asks to close but keeps the socket open: the client must not reuse it
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False, b"ok", 3),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False, b"ok", 3),
        # a stray response after the answer: that connection is not reused
        (OK + b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n", False, b"ok", 3),
        # the server closes each idle connection without saying so: each call still succeeds
        (OK, True, b"ok", 3),
    ],
)
def test_bodies_and_keep_alive(response: bytes, close: bool, body: bytes, connections: int) -> None:
    got, srv = run(replying(response, close=close), lambda h, u, _s: calls(h, u, 3))
    assert got == [body] * 3
    assert srv.connections == connections and len(srv.requests) == 3


def test_the_request_as_the_server_sees_it() -> None:
    async def body(http: httpx.AsyncClient, url: str, _s: Server) -> None:
        await http.post(url + "/p?q=1", content=b'{"a":1}', headers={"X-Test": "yes"})

        async def gen() -> AsyncIterator[bytes]:
            yield b"str"
            yield b"eamed"

        await http.put(url + "/s", content=gen())

    _, srv = run(replying(OK), body)
    first, second = (r.split(b"\r\n\r\n") for r in srv.requests)
    lines = first[0].lower().split(b"\r\n")
    assert lines[0] == b"post /p?q=1 http/1.1"
    assert sum(line.startswith(b"host:") for line in lines) == 1
    assert b"content-length: 7" in lines and b"x-test: yes" in lines and first[1] == b'{"a":1}'
    assert b"content-length: 8" in second[0].lower() and second[1] == b"streamed"
    assert b"transfer-encoding" not in second[0].lower()


def stale_first(retry_answers: bool) -> Handler:
    """Connection 1 answers one request, then reads the next and closes without an answer;
    later connections answer every request when `retry_answers`, else close the same way."""

    async def handler(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        answers = 1 if srv.connections == 1 else (1 << 30 if retry_answers else 0)
        while await srv.next_request(r) is not None and answers:
            w.write(OK)
            answers -= 1

    return handler


def test_a_reused_connection_closed_by_the_server_is_retried_on_a_new_one() -> None:
    got, srv = run(stale_first(True), lambda h, u, _s: calls(h, u, 3))
    assert got == [b"ok"] * 3
    assert srv.connections == 2 and len(srv.requests) == 4


def test_the_retry_happens_once_and_never_for_a_new_connection() -> None:
    async def body(http: httpx.AsyncClient, url: str, _s: Server) -> None:
        await http.get(url)
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)

    _, srv = run(stale_first(False), body)
    assert srv.connections == 2 and len(srv.requests) == 3


def test_connection_refused_is_a_connect_error() -> None:
    async def main() -> None:
        srv = Server(replying(OK))
        url = await srv.start()
        await srv.stop()  # nothing listens on that port any more
        async with httpx.AsyncClient(transport=LeanTransport()) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(url)

    asyncio.run(main())


async def silent(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await srv.next_request(r)
    await asyncio.sleep(3600)


async def stalls_mid_body(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await srv.next_request(r)
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    await asyncio.sleep(3600)


@pytest.mark.parametrize("handler", [silent, stalls_mid_body])
def test_read_timeout(handler: Handler) -> None:
    async def body(http: httpx.AsyncClient, url: str, _s: Server) -> None:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url, timeout=httpx.Timeout(0.2))

    run(handler, body)


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",  # closed mid-body
        b"HTTP/1.1 200 OK\r\nX: y",  # closed mid-head
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 2000 + b"\r\n\r\n",  # head over the cap
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok",  # closed mid-chunk
    ],
)
def test_a_broken_response_is_a_remote_protocol_error(response: bytes) -> None:
    async def body(http: httpx.AsyncClient, url: str, _s: Server) -> None:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)

    run(replying(response, close=True), body, max_head_bytes=1024)


def big_then_ok(size: int) -> Handler:
    """Connection 1 sends a `size`-byte JSON answer; later connections answer "ok"."""

    async def handler(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        first = srv.connections == 1
        try:
            while await srv.next_request(r) is not None:
                if not first:
                    w.write(OK)
                    continue
                doc = json.dumps({"segments": [{"id": "s1"}], "pad": "x" * size}).encode()
                w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                w.write(b"Content-Length: %d\r\n\r\n%s" % (len(doc), doc))
        finally:  # the client closed the connection (EOF or reset)
            srv.closed_by_peer.set()

    return handler


@pytest.mark.parametrize("size, fits", [(100, True), (2_000_000, False)])
def test_the_client_body_cap_stops_reading_and_drops_the_connection(size: int, fits: bool) -> None:
    async def body(http: httpx.AsyncClient, url: str, srv: Server) -> Any:
        p = ProviderConfig(name="p", dpid=1, url=url + "/v1", max_body_bytes=1000, timeout_ms=5000)
        try:
            return await ProviderClient(p).fetch(http, ProviderRequest(uuid=UUID), 5.0)
        except ProviderFailed:
            await asyncio.wait_for(srv.closed_by_peer.wait(), 5)  # the client hung up
            return (await http.get(url)).content

    got, srv = run(big_then_ok(size), body)
    if fits:
        assert [s.id for s in got.segments] == ["s1"] and srv.connections == 1
    else:
        assert got == b"ok" and srv.connections == 2


async def head_then_stall(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    """Connection 1 sends a head and part of the body, then waits; later ones answer "ok"."""
    if srv.connections > 1:
        return await replying(OK)(srv, r, w)
    await srv.next_request(r)
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    await srv.wait_peer_close(r)


async def stall(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    """Connection 1 reads the request and waits; later ones answer "ok"."""
    if srv.connections > 1:
        return await replying(OK)(srv, r, w)
    await srv.next_request(r)
    await srv.wait_peer_close(r)


@pytest.mark.parametrize("handler, stage", [(stall, "request"), (head_then_stall, "body")])
def test_cancellation_closes_the_connection_and_frees_its_slot(
    handler: Handler, stage: str
) -> None:
    async def body(http: httpx.AsyncClient, url: str, srv: Server) -> bytes:
        reached = asyncio.Event()

        async def call() -> None:
            async with http.stream("GET", url) as response:
                async for _ in response.aiter_raw():
                    reached.set()

        task = asyncio.create_task(call())
        while not (srv.requests if stage == "request" else reached.is_set()):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(srv.closed_by_peer.wait(), 5)
        # the only slot is free again (else a PoolTimeout) and the next call gets a new connection
        return (await http.get(url, timeout=httpx.Timeout(5, pool=0.5))).content

    got, srv = run(handler, body, limits=httpx.Limits(max_connections=1))
    assert got == b"ok" and srv.connections == 2


def test_https_is_delegated_to_the_fallback() -> None:
    seen: list[str] = []

    def mock(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(299)

    async def body(http: httpx.AsyncClient, url: str, _s: Server) -> tuple[int, bytes]:
        tls = await http.get("https://p.test/x")
        return tls.status_code, (await http.get(url + "/plain")).content

    got, srv = run(replying(OK), body, fallback=httpx.MockTransport(mock))
    assert got == (299, b"ok") and seen == ["https://p.test/x"] and srv.connections == 1


def test_aclose_closes_the_idle_connections() -> None:
    async def body(http: httpx.AsyncClient, url: str, srv: Server) -> None:
        await http.get(url)
        await http.aclose()
        await asyncio.wait_for(srv.closed_by_peer.wait(), 5)

    async def handler(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await replying(OK)(srv, r, w)
        srv.closed_by_peer.set()

    run(handler, body)


@pytest.mark.parametrize("expiry, connections", [(4.0, 1), (0.05, 2)])
def test_idle_connections_expire(expiry: float, connections: int) -> None:
    limits = httpx.Limits(keepalive_expiry=expiry)
    _, srv = run(replying(OK), lambda h, u, _s: calls(h, u, 2, pause_s=0.2), limits=limits)
    assert srv.connections == connections


@pytest.mark.parametrize("max_idle, connections", [(2, 2), (1, 3), (0, 4)])
def test_idle_connections_are_bounded_per_host(max_idle: int, connections: int) -> None:
    barrier = asyncio.Barrier(2)  # each request waits for the other: two connections at once

    async def handler(srv: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while await srv.next_request(r) is not None:
            await barrier.wait()
            w.write(OK)

    async def body(http: httpx.AsyncClient, url: str, _s: Server) -> None:
        for _ in range(2):
            await asyncio.gather(http.get(url), http.get(url))

    limits = httpx.Limits(max_keepalive_connections=max_idle)
    _, srv = run(handler, body, limits=limits)
    assert srv.connections == connections


def test_the_enricher_client_uses_the_lean_transport() -> None:
    async def main() -> bool:
        e = Enricher(config(provider("a", 1)))
        transport = e.http._transport_for_url(httpx.URL("http://a.test/v1"))
        await e.aclose()
        return isinstance(transport, LeanTransport)

    assert asyncio.run(main())


def test_a_providers_cookie_never_rides_on_a_later_call() -> None:
    """The Enricher's provider calls skip the client's cookie jar: a Set-Cookie from one
    visitor's answer is not sent with the next visitor's call (and the calls still work)."""
    doc = json.dumps({"segments": [{"id": "s1"}]}).encode()
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Set-Cookie: provider_id=visitor-one; Path=/\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(doc), doc))

    async def main() -> tuple[list[str], list[bytes]]:
        srv = Server(replying(answer))
        url = await srv.start()
        p = ProviderConfig(name="a", dpid=1, url=url + "/v1", timeout_ms=5000)
        e = Enricher(config(p, deadline_ms=5000))
        try:
            statuses = []
            for uuid in (UUID, UUID[:-1] + "7"):
                out = await e.enrich(Hit(uuid=uuid, signals={}))
                statuses.append(out.results[0].status)
            return statuses, list(srv.requests)
        finally:
            await e.aclose()
            await srv.stop()

    statuses, requests = asyncio.run(main())
    assert statuses == ["ok", "ok"] and len(requests) == 2
    assert all(b"\r\ncookie:" not in r.lower() for r in requests)
    assert all(b"\r\nuser-agent: audience-edge/" in r.lower() for r in requests)
