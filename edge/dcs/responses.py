"""The shapes of DCS answers: JSON or JSONP bodies, the pixel, cookies, CORS, redirects.

Pure helpers around Starlette responses; nothing here touches the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import Scope

from edge.dcs.errors import DcsError, header_value

PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}
NOTARGET = "NOTARGET"
OPT_OUT_DAYS = 3650


def _with_errors(headers: dict[str, str], errors: Sequence[DcsError]) -> dict[str, str]:
    if errors:
        headers["X-Error"] = header_value(errors)
    return headers


def pixel(errors: Sequence[DcsError] = ()) -> Response:
    """The 1x1 transparent GIF answered without ``d_rtbd=json``."""
    return Response(PIXEL, media_type="image/gif", headers=_with_errors(dict(NO_STORE), errors))


def payload(
    body: dict[str, Any], errors: Sequence[DcsError], callback: str | None = None
) -> Response:
    """The JSON answer (JSONP ``callback({...})`` when a valid callback is given)."""
    if errors:
        body = {**body, "errors": [e.to_json() for e in errors]}
    text = json.dumps(body, separators=(",", ":"))
    headers = _with_errors({**NO_STORE, "X-Content-Type-Options": "nosniff"}, errors)
    if callback:
        return Response(f"{callback}({text})", media_type="application/javascript",
                        headers=headers)
    return Response(text, media_type="application/json", headers=headers)


def is_https(headers: Headers, scope: Scope) -> bool:
    """Whether the visitor's request came over https (the edge sets X-Forwarded-Proto)."""
    forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded == "https" if forwarded else scope.get("scheme") == "https"


def request_host(headers: Headers) -> str:
    return headers.get("x-forwarded-host", "").split(",")[0].strip() or headers.get("host", "")


def own_origin(headers: Headers, scope: Scope) -> str:
    """The origin the visitor's browser addressed (``scheme://host[:port]``, default port
    dropped), from ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` or the request itself."""
    scheme = "https" if is_https(headers, scope) else "http"
    host = request_host(headers).lower()
    default = ":443" if scheme == "https" else ":80"
    if host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{host}"


def set_visitor_cookie(
    response: Response, name: str, value: str, *, days: int, https: bool
) -> None:
    """The visitor cookie: ``Secure; SameSite=None`` over https so cross-site calls carry it."""
    response.set_cookie(
        name, value, max_age=days * 86400, path="/", secure=https, httponly=True,
        samesite="none" if https else "lax",
    )


def cors_headers(origin: str | None, allowed: Iterable[str]) -> dict[str, str]:
    """Credentialed CORS headers for an allowed `origin`; none for any other."""
    if not origin or origin not in set(allowed):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def preflight(headers: Headers, allowed: Iterable[str]) -> Response:
    """The answer to an ``OPTIONS`` preflight: 204 with CORS headers, or 403."""
    cors = cors_headers(headers.get("origin"), allowed)
    if not cors:
        return Response(status_code=403, headers={"Vary": "Origin"})
    cors.update({
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
    })
    return Response(status_code=204, headers=cors)


def safe_redirect(url: str, hosts: Iterable[str], *, force_https: bool = False) -> str | None:
    """`url` if it is http(s) to an allowed host (``.example.com`` allows subdomains)."""
    if not url or any(ord(c) < 0x21 or c == "\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if not any(_host_matches(host, h.lower()) for h in hosts):
        return None
    if force_https and parts.scheme.lower() == "http":
        return "https" + url[len(parts.scheme) :]
    return url


def _host_matches(host: str, allowed: str) -> bool:
    if allowed.startswith("."):
        return host == allowed[1:] or host.endswith(allowed)
    return host == allowed


def redirect(url: str, errors: Sequence[DcsError] = ()) -> Response:
    headers = _with_errors(dict(NO_STORE), errors)
    return RedirectResponse(url, status_code=302, headers=headers)
