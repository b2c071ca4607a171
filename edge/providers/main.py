"""`edge provider`: run one reference provider under uvicorn."""

from __future__ import annotations

import argparse
from importlib import resources

import uvicorn

from edge import runtime
from edge.providers.server import Behaviour, ProviderState, create_app, load_data


def data_path(name: str) -> str:
    """The packaged data file of a demo provider (acme, birch, cedar)."""
    return str(resources.files("edge.providers") / "data" / f"{name}.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="edge provider", description=__doc__)
    ap.add_argument("--name", required=True)
    ap.add_argument("--dpid", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", help="data file (default: the packaged one for --name, if any)")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--jitter-ms", type=int, default=0)
    ap.add_argument("--failure-rate", type=float, default=0.0)
    ap.add_argument("--secret", help="verify X-Signature with this key")
    ap.add_argument("--ibs-url", help="ID-sync target, e.g. http://127.0.0.1:8080/ibs:")
    ap.add_argument("--ttl-s", type=int, default=300)
    args = ap.parse_args(argv)
    if not 0.0 <= args.failure_rate <= 1.0:
        ap.error("--failure-rate must be between 0 and 1")
    path = args.data or data_path(args.name)
    try:
        catalog, visitors = load_data(path)
    except (OSError, ValueError) as e:
        ap.error(f"--data {path}: {e}")
    state = ProviderState(
        name=args.name,
        dpid=args.dpid,
        catalog=catalog,
        visitors=visitors,
        secret=args.secret.encode() if args.secret else None,
        ibs_url=args.ibs_url,
        ttl_s=args.ttl_s,
        behaviour=Behaviour(args.latency_ms, args.jitter_ms, args.failure_rate),
    )
    # keep-alive longer than the edge's client keeps idle connections (no stale-connection races)
    app = create_app(state)
    runtime.freeze_startup()
    # a hanging call (mode hang) must not hold up shutdown: cut after 2 s
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                access_log=False, timeout_keep_alive=75, timeout_graceful_shutdown=2)
    return 0
