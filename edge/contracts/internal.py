"""The DCS's internal surface, used only by the edge (never routed from the public listener).

``GET /internal/visitor?uuid=<uuid>`` or ``?mid=<mid>`` (plus ``&tenant=<name>`` in a
deployment with ``[[tenants]]``; an unknown tenant answers 404) answers
``{"uuid": "<uuid>" | null, "partner_ids": {"<dpid>": "<dpuuid>"}, "opted_out": bool}``.
The caller proves it holds the shared secret with the header ``X-Edge-Internal: <token>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PATH_PREFIX = "/internal/"
VISITOR_PATH = "/internal/visitor"
TOKEN_HEADER = "X-Edge-Internal"


def token(secret: bytes) -> str:
    """The bearer token for internal calls, derived from the shared secret."""
    digest = hmac.new(secret, b"edge-internal-v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check(secret: bytes, presented: str | None) -> bool:
    # compare_digest raises TypeError on non-ASCII text, and a header may carry latin-1
    return (
        presented is not None
        and presented.isascii()
        and hmac.compare_digest(token(secret), presented)
    )
