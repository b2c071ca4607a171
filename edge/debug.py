"""``edge debug``: mitmweb (or the mitmproxy console) in front of the stack, with our addons.

    edge debug --config edge.toml [--console] [--record hits.flows] [--chaos SPEC ...]

Builds the mitmweb/mitmproxy command line and replaces this process with it: reverse mode from
the config's public listener to its origin, the same safe options as the production runner
(``connection_strategy=lazy``, ``keep_host_header``, HTTP/1.1 towards clients, the body size
limit, the config's certificates), and ``addons/debug_entry.py`` loaded with ``-s`` (the edge,
the "DCS hit" view, the ``edge.*`` commands, recording, flow retention and chaos). The web UI
listens on 127.0.0.1 only, behind ``--web-password`` (mitmweb prints a token otherwise).

edge/ does not import mitmproxy: this module only spawns it. Errors: a bad config or argument
prints the reason and returns 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from edge import config as edge_config

ROOT = Path(__file__).resolve().parent.parent
ENTRY = ROOT / "addons" / "debug_entry.py"
DEFAULT_MAX_FLOWS = 2000
# mitmweb's flow list with the comment column: the edge writes each hit's summary there.
WEB_COLUMNS = ("icon", "path", "method", "status", "size", "time", "comment")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="edge debug", description="Debug the edge's traffic in mitmweb or the console."
    )
    ap.add_argument("--config", required=True, help="deployment config (TOML)")
    ap.add_argument("--console", action="store_true", help="the mitmproxy console, not mitmweb")
    ap.add_argument("--record", help="write the DCS flows to this mitmproxy flow file")
    ap.add_argument("--listen", help="host:port of the proxy (default: edge.listen)")
    ap.add_argument("--chaos", action="append", default=[], metavar="SPEC",
                    help="a chaos spec, e.g. provider:acme:latency=300,p=0.5 (repeatable)")
    ap.add_argument("--max-flows", type=int, default=DEFAULT_MAX_FLOWS,
                    help=f"flows kept in the UI (0: all; default {DEFAULT_MAX_FLOWS})")
    ap.add_argument("--web-host", default="127.0.0.1")
    ap.add_argument("--web-port", type=int, default=8088)
    ap.add_argument("--web-password", help="mitmweb password (default: a printed token)")
    ap.add_argument("--open", action="store_true", help="open mitmweb in a browser")
    ap.add_argument("--confdir", help="mitmproxy confdir (its CA for hosts without certs)")
    ap.add_argument("--no-admin", action="store_true", help="do not serve metrics")
    ap.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                    help="any other mitmproxy option (repeatable)")
    return ap


def tool_argv(tool: str) -> list[str]:
    """How to start `tool` (mitmweb, mitmproxy) with this interpreter's installation."""
    script = Path(sys.executable).with_name(tool)
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c",
            f"import sys; from mitmproxy.tools.main import {tool}; sys.exit({tool}())"]


def build_argv(cfg: edge_config.Config, config_path: str, args: argparse.Namespace) -> list[str]:
    """The full command line for mitmweb (or mitmproxy with --console)."""
    listen = args.listen or cfg.edge.listen
    host, _, port = listen.rpartition(":")
    sets = {
        "connection_strategy": "lazy",
        "keep_host_header": "true",
        "http2": "false",
        "http3": "false",
        "block_global": "false",
        "body_size_limit": cfg.edge.body_size_limit,
        "edge_config": str(Path(config_path).resolve()),
        "edge_admin": "false" if args.no_admin else "true",
        "edge_max_flows": str(args.max_flows),
    }
    if args.record:
        sets["edge_record"] = str(Path(args.record).resolve())
    if args.confdir:
        sets["confdir"] = args.confdir
    if not args.console:
        sets.update(web_host=args.web_host, web_port=str(args.web_port),
                    web_open_browser="true" if args.open else "false")
        if args.web_password:
            sets["web_password"] = args.web_password
    argv = tool_argv("mitmproxy" if args.console else "mitmweb")
    argv += ["--mode", f"reverse:{cfg.edge.origin}@{host}:{port}", "-s", str(ENTRY)]
    for name, value in sets.items():
        argv += ["--set", f"{name}={value}"]
    for cert in cfg.edge.certs:
        argv += ["--certs", cert]
    if not args.console:
        for column in WEB_COLUMNS:
            argv += ["--set", f"web_columns={column}"]
    for spec in args.chaos:
        argv += ["--set", f"edge_chaos={spec}"]
    for extra in args.set:
        argv += ["--set", extra]
    return argv


def child_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment of the tool: the project importable from the -s scripts."""
    env = dict(base)
    paths = [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def main(
    argv: list[str] | None = None,
    *,
    execute: Callable[[str, list[str], dict[str, str]], object] = os.execve,
) -> int:
    args = parser().parse_args(argv)
    try:
        cfg = edge_config.load(args.config)
    except (OSError, ValueError) as e:
        print(f"edge debug: {args.config}: {e}", file=sys.stderr)
        return 2
    if args.max_flows < 0:
        print("edge debug: --max-flows must be >= 0", file=sys.stderr)
        return 2
    cmd = build_argv(cfg, args.config, args)
    sys.stdout.flush()
    execute(cmd[0], cmd, child_env(os.environ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
