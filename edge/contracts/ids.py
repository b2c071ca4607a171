"""Visitor and transaction identifiers.

- A visitor id (the DCS `uuid`, Audience Manager's device id) is a 38-digit decimal string.
- A transaction id (`tid`) is 12 characters: base64 of 8 random bytes (e.g. ``31ZpxW5bQGc=``).
"""

from __future__ import annotations

import base64
import re
import secrets

UUID_DIGITS = 38
_UUID_RE = re.compile(r"[0-9]{38}")
_TID_RE = re.compile(r"[A-Za-z0-9+/]{11}=")


def new_uuid() -> str:
    """A fresh 38-digit visitor id (no leading zero, so it survives numeric round-trips)."""
    first = str(secrets.randbelow(9) + 1)
    rest = str(secrets.randbelow(10 ** (UUID_DIGITS - 1))).zfill(UUID_DIGITS - 1)
    return first + rest


def is_uuid(value: str | None) -> bool:
    return value is not None and _UUID_RE.fullmatch(value) is not None


def new_tid() -> str:
    """A 12-character transaction id, unique enough for debugging one hit."""
    return base64.b64encode(secrets.token_bytes(8)).decode("ascii")


def is_tid(value: str) -> bool:
    return _TID_RE.fullmatch(value) is not None
