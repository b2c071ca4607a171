"""The HTTP client for ONE provider: protocol v1, or the configurable HTTP adapter.

``ProviderClient(config).fetch(http, request, timeout_s)`` sends one call and returns a
validated ``Answer``. ``http`` is the shared ``httpx.AsyncClient`` or, better, the shared
client's transport (an ``httpx.AsyncBaseTransport``): a provider call needs nothing of the
client's layer (no redirects, no auth, no base URL) and must not have its cookie jar (a
provider's ``Set-Cookie`` would otherwise ride along on later calls, for other visitors), and
that layer was about half the CPU of a call. The ``httpx.Request`` is built here either way.

- Native v1: ``POST`` of ``request_body(...)`` as JSON, ``X-Signature`` when the provider has
  a secret, ``Authorization: Bearer`` when it has a token, ``User-Agent: audience-edge/<v>``.
- Adapter: the URL template's placeholders ``{uuid}``, ``{dpuuid}``, ``{dpid}`` and
  ``{signal:<key>}`` are filled with percent-encoded values only (nothing is safe, not even
  ``/``), so a value can never change the scheme, host or path; header values likewise; the
  optional JSON body template is filled with JSON-escaped values. The response is mapped with
  JMESPath (``AdapterConfig.segments`` / ``.status``) and validated like a v1 answer.
- Data minimisation: only the provider's allowed signal keys are sent, ``p_`` keys never.
- The body is streamed and reading stops past ``max_body_bytes``.

Errors (every httpx exception is translated here):
- ``ProviderError``: base class.
  - ``ProviderTimeout``: no complete answer within the timeout (connect, read, pool or total).
  - ``ProviderFailed``: anything else: network errors, an HTTP status other than 200/204,
    a body over the limit, not JSON, or not of the expected shape. ``retryable`` is true for
    network errors and 502/503/504: what the Enricher retries (``retries``).
Constructing a client with a bad adapter template raises ``AdapterTemplateError(ValueError)``.

The ``httpx`` and ``httpcore`` loggers are set to WARNING on import: when the edge runs under
mitmproxy the root logger is at DEBUG, and their per-request debug records are a measured
cost on the provider path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import jmespath

import edge
from edge.config import AdapterConfig, ProviderConfig
from edge.contracts import provider_protocol as proto
from edge.contracts.envelope import SegmentResult
from edge.contracts.provider_protocol import Answer, ProtocolError

for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

USER_AGENT = f"audience-edge/{edge.__version__}"
_RETRYABLE_STATUS = frozenset({502, 503, 504})
_PLACEHOLDER = re.compile(r"\{(uuid|dpuuid|dpid|signal:[A-Za-z0-9_.\-]+)\}")


class ProviderError(Exception):
    """A provider call that produced no valid answer."""


class ProviderTimeout(ProviderError):
    pass


class ProviderFailed(ProviderError):
    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        # worth one more try: the connection failed, or the provider said 502/503/504 (a
        # wrong answer, a 4xx or a 500 would only come again)
        self.retryable = retryable


class AdapterTemplateError(ValueError):
    """An adapter configuration that cannot be used."""


@dataclass(frozen=True)
class ProviderRequest:
    """What one call is about: the visitor, the hit's signals and consent, the time budget."""

    uuid: str
    dpuuid: str | None = None
    signals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    gdpr: int | None = None
    gdpr_consent: str | None = None
    deadline_ms: int = 100


def minimise(provider: ProviderConfig, signals: Mapping[str, tuple[str, ...]]) -> dict[
    str, tuple[str, ...]
]:
    """The signals `provider` may receive: its allowed keys (all if unset), never ``p_``."""
    allowed = provider.signals
    return {
        k: tuple(v)
        for k, v in signals.items()
        if not k.startswith("p_") and (allowed is None or k in allowed)
    }


def _consent(req: ProviderRequest) -> dict[str, object] | None:
    doc: dict[str, object] = {}
    if req.gdpr is not None:
        doc["gdpr"] = req.gdpr
    if req.gdpr_consent:
        doc["gdpr_consent"] = req.gdpr_consent
    return doc or None


class ProviderClient:
    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._adapter = config.adapter
        # native v1 posts to one URL: parsed once, not per call
        self._url = httpx.URL(config.url) if self._adapter is None and config.url else None
        self._segments: Any = None
        self._status: Any = None
        if self._adapter is not None:
            self._check_adapter(self._adapter)

    def _check_adapter(self, a: AdapterConfig) -> None:
        leftover = _PLACEHOLDER.sub("", a.url)
        if "{" in leftover or "}" in leftover:
            raise AdapterTemplateError(f"{self.config.name}: unknown placeholder in {a.url!r}")
        if not a.url.startswith(("http://", "https://")):
            raise AdapterTemplateError(f"{self.config.name}: adapter url must be http(s)")
        try:
            self._segments = jmespath.compile(a.segments)
            self._status = jmespath.compile(a.status) if a.status else None
        except jmespath.exceptions.JMESPathError as e:
            raise AdapterTemplateError(f"{self.config.name}: bad JMESPath: {e}") from None

    async def fetch(
        self, http: httpx.AsyncClient | httpx.AsyncBaseTransport, req: ProviderRequest,
        timeout_s: float,
    ) -> Answer:
        """One call, bounded by `timeout_s` in total; ProviderError on any failure."""
        try:
            async with asyncio.timeout(timeout_s):
                request = self._request(req)
                status, body, headers = await self._send(http, request, timeout_s)
        except (TimeoutError, httpx.TimeoutException):
            msg = f"{self.config.name}: no answer within {timeout_s:.3f} s"
            raise ProviderTimeout(msg) from None
        except (httpx.TransportError, OSError) as e:  # connect, reset, malformed response
            raise ProviderFailed(f"{self.config.name}: {type(e).__name__}: {e}",
                                 retryable=True) from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
            raise ProviderFailed(f"{self.config.name}: {type(e).__name__}: {e}") from None
        if status in _RETRYABLE_STATUS:
            raise ProviderFailed(f"{self.config.name}: HTTP {status}", retryable=True)
        try:
            if self._adapter is None:
                return proto.parse_answer(
                    status, body,
                    content_type=headers.get("content-type"),
                    cache_control=headers.get("cache-control"),
                    max_segments=self.config.max_segments,
                    max_bytes=self.config.max_body_bytes,
                )
            return self._map(status, body, headers.get("cache-control"))
        except ProtocolError as e:
            raise ProviderFailed(f"{self.config.name}: {e}") from None

    # -- requests --------------------------------------------------------------------------

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = proto.CONTENT_TYPE
            if self.config.secret:
                headers[proto.SIGNATURE_HEADER] = proto.signature(self.config.secret, body)
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        return headers

    def _request(self, req: ProviderRequest) -> httpx.Request:
        return self._native(req) if self._adapter is None else self._adapted(req)

    def _native(self, req: ProviderRequest) -> httpx.Request:
        body = proto.request_body(
            request_id=secrets.token_urlsafe(8),
            dpid=self.config.dpid,
            uuid=req.uuid,
            dpuuid=req.dpuuid,
            signals=minimise(self.config, req.signals),
            consent=_consent(req),
            deadline_ms=req.deadline_ms,
        )
        headers = self._headers(body)
        return httpx.Request("POST", self._url or self.config.url, content=body, headers=headers)

    def _values(self, req: ProviderRequest) -> dict[str, str]:
        values = {"uuid": req.uuid, "dpuuid": req.dpuuid or "", "dpid": str(self.config.dpid)}
        for k, v in minimise(self.config, req.signals).items():
            values[f"signal:{k}"] = ",".join(v)
        return values

    def _adapted(self, req: ProviderRequest) -> httpx.Request:
        assert self._adapter is not None
        values = self._values(req)
        url = fill_url(self._adapter.url, values)
        body = None
        if self._adapter.body is not None:
            body = fill_json(self._adapter.body, values).encode("utf-8")
        headers = self._headers(body)
        headers.update({k: fill_url(v, values) for k, v in self._adapter.headers.items()})
        return httpx.Request(self._adapter.method, url, content=body, headers=headers)

    async def _send(
        self, http: httpx.AsyncClient | httpx.AsyncBaseTransport, request: httpx.Request,
        timeout_s: float,
    ) -> tuple[int, bytes, httpx.Headers]:
        request.extensions["timeout"] = {
            "connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s
        }
        if isinstance(http, httpx.AsyncBaseTransport):
            response = await http.handle_async_request(request)
        else:
            response = await http.send(request, stream=True)
        try:
            if response.status_code not in (200, 204):
                return response.status_code, b"", response.headers
            return response.status_code, await self._read(response), response.headers
        finally:
            await response.aclose()

    async def _read(self, response: httpx.Response) -> bytes:
        limit = self.config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        # an uncompressed body (the edge asks for no encoding) is read straight off the stream,
        # unless the transport has read it already
        raw = not response.is_stream_consumed and "content-encoding" not in response.headers
        stream: Any = response.aiter_raw() if raw else response.aiter_bytes()
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise ProviderFailed(f"{self.config.name}: body over the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    # -- adapter responses -----------------------------------------------------------------

    def _map(self, status: int, body: bytes, cache_control: str | None) -> Answer:
        ttl = proto.max_age(cache_control)
        if status == 204:
            return Answer((), ttl)
        if status != 200:
            raise ProtocolError(f"HTTP {status}")
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError("body is not JSON") from None
        mapped = map_segments(self._segments, self._status, doc, self.config.max_segments)
        return Answer(mapped, ttl)


def fill_url(template: str, values: Mapping[str, str]) -> str:
    """`template` with each placeholder replaced by its percent-encoded value (missing: '')."""
    return _PLACEHOLDER.sub(lambda m: quote(values.get(m.group(1), ""), safe=""), template)


def fill_json(template: str, values: Mapping[str, str]) -> str:
    """`template` with each placeholder replaced by its JSON-escaped value (no quotes added)."""
    return _PLACEHOLDER.sub(lambda m: json.dumps(values.get(m.group(1), ""))[1:-1], template)


def map_segments(
    segments: Any, status: Any, doc: Any, max_segments: int
) -> tuple[SegmentResult, ...]:
    """Segments from a mapped response: ids (str/int) or ``{id, status}`` objects; ProtocolError."""
    selected = segments.search(doc)
    if selected is None:
        return ()
    if not isinstance(selected, list):
        raise ProtocolError("the segments expression did not select a list")
    items: list[dict[str, Any]] = []
    for item in selected:
        entry: dict[str, Any] = dict(item) if isinstance(item, dict) else {"id": item}
        if status is not None:
            value = status.search(item)
            entry["status"] = 1 if value is None else value
            if isinstance(value, bool):
                entry["status"] = int(value)
        items.append(entry)
    return proto.parse_segments(items, max_segments=max_segments)
