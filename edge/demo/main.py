"""`edge demo`: the whole stack on embedded defaults, until Ctrl-C.

Starts the DCS (uvicorn), three reference providers, the demo customer site and the edge
(mitmproxy, reverse mode) in front of them, prints the URLs and one line per enriched hit.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from edge import config
from edge.demo.stack import DEFAULTS, Stack, StackError, demo_config_text, format_hit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="edge demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, port in DEFAULTS.items():
        ap.add_argument(f"--{name}-port", type=int, default=port, help=f"default {port}")
    ap.add_argument("--state", default="var/demo", help="folder for the store, config and logs")
    args = ap.parse_args(argv)
    ports = {name: getattr(args, f"{name}_port") for name in DEFAULTS}
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    cfg_path = state / "demo.toml"
    cfg_path.write_text(demo_config_text(ports, state), encoding="utf-8")
    cfg = config.load(cfg_path)
    names = {s.sid: s.name for s in cfg.segments}

    def on_line(line: str) -> None:
        out = format_hit(line, names)
        if out:
            print(out, flush=True)

    stack = Stack(cfg_path, ports, state / "logs", on_edge_line=on_line)
    print("starting the DCS, 3 providers, the demo site and the edge ...", flush=True)
    try:
        stack.start()
    except StackError as e:
        print(f"edge demo: {e}", file=sys.stderr)
        return 1
    edge = f"http://127.0.0.1:{ports['edge']}"
    print(f"""
  demo site (through the edge)  {edge}/
  DCS hit                        {edge}/event?d_rtbd=json&d_cts=2&c_page=home
  metrics (admin)                http://127.0.0.1:{ports['admin']}/metrics
  DCS (internal)                 http://127.0.0.1:{ports['dcs']}/
  providers (internal)           {', '.join(f"{n} :{ports[n]}" for n in ('acme', 'birch', 'cedar'))}
  config                         {cfg_path}
  logs                           {state / 'logs'}

Ctrl-C stops everything. One line per enriched hit:
""", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            for svc in stack.services:
                if svc.proc is not None and svc.proc.poll() is not None:
                    print(f"edge demo: {svc.name} exited:\n{stack.tail(svc)}", file=sys.stderr)
                    stop.set()
    finally:
        print("\nstopping ...", flush=True)
        stack.stop()
    return 0
