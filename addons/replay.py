"""Replay a recorded session through an edge and compare the DCS answers: a regression check.

    python -m addons.replay hits.flows --edge http://127.0.0.1:8080 [--json]

Reads a flow file written by ``edge_record`` (or mitmweb's save, or ``mitmdump -w``), sends each
recorded DCS event hit again, in order, to the edge (method, path and query, body, cookies and
the client's headers; the edge's own headers are left out, so the edge enriches afresh), and
compares each answer with the recorded one (``edge.regression.compare``). Exits 0 when all
agree, 1 when any differs, 2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator

import httpx
from mitmproxy import exceptions, http, io

from edge import regression
from edge import trace as edge_trace
from edge.contracts import envelope

DROP = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "x-forwarded-for",
     "x-forwarded-proto", "x-forwarded-host"} | {h.lower() for h in envelope.EDGE_HEADERS}
)


def read_hits(path: str) -> Iterator[http.HTTPFlow]:
    """The DCS event hits of a flow file, in recorded order."""
    with open(path, "rb") as f:
        for flow in io.FlowReader(f).stream():
            if isinstance(flow, http.HTTPFlow) and flow.response is not None and (
                flow.metadata.get("edge_route") == "event"
            ):
                yield flow


def recorded_answer(flow: http.HTTPFlow) -> dict[str, object] | None:
    trace = flow.metadata.get("edge")
    if isinstance(trace, dict) and isinstance(trace.get("answer"), dict):
        return dict(trace["answer"])
    assert flow.response is not None
    return edge_trace.read_answer(
        flow.response.content or b"", flow.response.headers.get("content-type", "")
    )


def names_visitor(flow: http.HTTPFlow, cookie_name: str = "demdex") -> bool:
    return "d_uuid" in flow.request.query or cookie_name in flow.request.cookies


def replay(flows: Iterable[http.HTTPFlow], client: httpx.Client) -> regression.Report:
    report = regression.Report()
    for flow in flows:
        req = flow.request
        headers = [(k, v) for k, v in req.headers.items(multi=True) if k.lower() not in DROP]
        r = client.request(req.method, req.path, content=req.raw_content or None,
                           headers=headers)
        now = edge_trace.read_answer(r.content, r.headers.get("content-type", ""))
        diffs = regression.compare(recorded_answer(flow), now, same_visitor=names_visitor(flow))
        then = flow.response.status_code if flow.response is not None else None
        if r.status_code != then:
            diffs.insert(0, f"status: {then} then, {r.status_code} now")
        report.results.append(regression.HitResult(flow.id, req.path, tuple(diffs)))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m addons.replay", description=__doc__.split("\n")[0])
    ap.add_argument("flows", help="a recorded flow file")
    ap.add_argument("--edge", required=True, help="the edge's base URL")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    try:
        hits = list(read_hits(args.flows))
    except (OSError, exceptions.FlowReadException) as e:
        print(f"replay: {args.flows}: {e}", file=sys.stderr)
        return 2
    with httpx.Client(base_url=args.edge, timeout=10.0) as client:
        report = replay(hits, client)
    if args.json:
        print(json.dumps([r.__dict__ for r in report.results], default=list))
    else:
        print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
