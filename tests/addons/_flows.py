"""Recorded-looking DCS flows for the addon tests (tflow + the edge's metadata)."""

from __future__ import annotations

import copy
from typing import Any

from mitmproxy import http
from mitmproxy.test import tflow, tutils

from edge.contracts import envelope

UUID = "12345678901234567890123456789012345678"
OTHER = "98765432109876543210987654321098765432"

TRACE: dict[str, Any] = {
    "uuid": UUID, "uuid_source": "cookie", "signals": {"c_page": ["home"]}, "gdpr": None,
    "coppa": False, "deadline_ms": 100, "enrich_ms": 20.5, "edge_ms": 21.0,
    "providers": [
        {"name": "acme", "dpid": 1001, "status": "ok", "ms": 12.0, "cache": "miss",
         "segments": [{"id": "sports", "status": 1}]},
    ],
    "answer": {"uuid": UUID, "tid": "t1", "traits": [1, 102], "segments": [5009]},
}


def dcs_flow(path: str = "/event?d_rtbd=json&c_page=home&p_email=ann@x.test",
             *, route: str = "event", trace: dict[str, Any] | None = TRACE,
             method: str = "GET", content: bytes = b"") -> http.HTTPFlow:
    req = tutils.treq(method=method.encode(), path=path.encode(), content=content,
                      host="127.0.0.1", port=8081)
    req.headers[envelope.HEADER] = "v1.1.abc.def"
    req.headers["cookie"] = f"demdex={UUID}"
    resp = tutils.tresp(content=b'{"uuid":"%s","traits":[1,102],"segments":[5009]}' % UUID.encode())
    resp.headers["content-type"] = "application/json"
    f = tflow.tflow(req=req, resp=resp)
    f.metadata["edge_route"] = route
    if trace is not None:
        f.metadata["edge"] = copy.deepcopy(trace)
    return f
