"""The DCS error codes the server emits, as Audience Manager documents them.

An error is reported in two places: the ``errors`` array of the JSON body
(``{"code": 311, "msg": "..."}``) and the ``X-Error`` header (``X-Error: 309,311``).
Warnings (3xx codes) do not stop a hit; the others do, as noted in each caller.

Errors: ``ParamError(ValueError)`` is raised while parsing a request that must be
disregarded as a whole; it carries the ``DcsError`` to report. Its subclass ``TooLarge``
marks a request over the size limits (answered with HTTP 413 or 414, see ``edge.dcs.params``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

UNSPECIFIED = 0
NO_CONFIG = 1
INVALID_ORGID = 2
TRAITS_FAILED = 10
INVALID_MID = 101
INVALID_UUID = 102
ALL_CIDS_INVALID = 104
REFERER_NOT_ALLOWED = 109
OPTED_OUT = 171
INVALID_CID = 300
MAX_CIDS = 301
CID_DISCARDED = 309
NAMESPACE_CIDS = 310
BAD_ENCODING = 311
CMP_NOT_IN_GCL = 313
CMP_DELETED = 314
NO_CONSENT = 315

MESSAGES: dict[int, str] = {
    UNSPECIFIED: "Unspecified error",
    NO_CONFIG: "Could not find config for hostname",
    INVALID_ORGID: "Invalid d_orgid value",
    TRAITS_FAILED: "Unable to evaluate traits",
    INVALID_MID: "Invalid Experience Cloud id passed in",
    INVALID_UUID: "Invalid AAM ID passed in (d_uuid)",
    ALL_CIDS_INVALID: "All customer IDs are invalid",
    REFERER_NOT_ALLOWED: "Referer not allowed for partner",
    OPTED_OUT: "Encountered opt out tag",
    INVALID_CID: "Invalid customer id",
    MAX_CIDS: "Max number of customer IDs (10) exceeded",
    CID_DISCARDED: "Customer id discarded because the request exceeded the limits",
    NAMESPACE_CIDS: "More than 3 customer IDs for the same namespace",
    BAD_ENCODING: "Invalid parameter encoding: the request was disregarded",
    CMP_NOT_IN_GCL: "CMP ID not in the global CMP list",
    CMP_DELETED: "CMP deleted from the global CMP list",
    NO_CONSENT: "The consent string indicates no consent",
}


@dataclass(frozen=True)
class DcsError:
    """One entry of the response's ``errors`` array."""

    code: int
    msg: str

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def error(code: int, detail: str | None = None) -> DcsError:
    """The error `code` with its documented message, plus `detail` (e.g. the offending id)."""
    base = MESSAGES.get(code, MESSAGES[UNSPECIFIED])
    return DcsError(code, f"{base}: {detail}" if detail else base)


def header_value(errors: Iterable[DcsError]) -> str:
    """The ``X-Error`` header value: the distinct codes, in order of first appearance."""
    codes = dict.fromkeys(e.code for e in errors)
    return ",".join(str(c) for c in codes)


class ParamError(ValueError):
    """A request that must be disregarded as a whole; `error` says why."""

    def __init__(self, err: DcsError) -> None:
        super().__init__(err.msg)
        self.error = err


class TooLarge(ParamError):
    """A request over the size limit; `status` is the HTTP status to answer (413 or 414)."""

    def __init__(self, status: int, limit: int) -> None:
        super().__init__(error(UNSPECIFIED, f"request larger than {limit} bytes"))
        self.status = status
        self.limit = limit
