"""The ``edge`` command.

    edge demo      the whole stack on embedded defaults (DCS, 3 providers, site, edge)
    edge proxy     the edge (mitmproxy, reverse mode) for a deployment config
    edge debug     the edge in mitmweb (or the console) with the debugging addons
    edge dcs       the DCS under uvicorn
    edge provider  a reference provider
    edge site      the demo customer site
    edge check     validate a deployment config (rules included) and exit
    edge report    how many profiles hold each trait and segment
    edge certs     a local CA and certificates for test host names
    edge bench     benchmarks: `edge bench rules`, `edge bench proxy`

Only this module (and the addons) read files, options and the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.config import Config

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("edge.demo.main", "the whole stack on embedded defaults"),
    "proxy": ("", "the edge (mitmproxy reverse proxy)"),
    "debug": ("edge.debug", "the edge in mitmweb (or the console) with debugging addons"),
    "dcs": ("", "the DCS under uvicorn"),
    "provider": ("edge.providers.main", "a reference provider"),
    "site": ("", "the demo customer site"),
    "check": ("", "validate a deployment config"),
    "report": ("edge.dcs.report", "trait and segment population of the profile store"),
    "certs": ("edge.certs", "make a local CA and certificates"),
    "bench": ("", "benchmarks (rules, proxy)"),
}


def _usage() -> str:
    lines = ["usage: edge <command> [options]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def _module_main(module: str) -> Callable[[list[str]], int]:
    import importlib

    main: Callable[[list[str]], int] = importlib.import_module(module).main
    return main


def cmd_proxy(argv: list[str]) -> int:
    # The edge runs mitmproxy; edge/ never imports it, so the runner replaces this process
    # (signals from a supervisor reach it directly).
    os.execv(sys.executable, [sys.executable, "-m", "addons.run", *argv])


def cmd_dcs(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edge dcs", description="Run the DCS under uvicorn.")
    ap.add_argument("--config", required=True)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--listen", help="host:port (default: dcs.listen of the config)")
    args = ap.parse_args(argv)
    cfg = _load_checked(args.config, "edge dcs")
    if cfg is None:
        return 2
    host, _, port = (args.listen or cfg.dcs.listen).rpartition(":")
    import uvicorn

    os.environ["EDGE_CONFIG"] = os.path.abspath(args.config)
    uvicorn.run("edge.dcs.app:app_from_env", factory=True, host=host, port=int(port),
                workers=args.workers, log_level="warning", access_log=False,
                timeout_keep_alive=75)  # the edge keeps its upstream connections open
    return 0


def _load_checked(path: str, label: str) -> Config | None:
    """The config at `path` with every rule and adapter compiled, or None after printing
    ``"<label>: <error>"`` to stderr."""
    from edge import config

    try:
        cfg = config.load(path)
        _build_engines(cfg)
    except ValueError as e:
        print(f"{label}: {e}", file=sys.stderr)
        return None
    return cfg


def _build_engines(cfg: Config) -> None:
    """Parse every trait and segment rule (errors name the rule and the position)."""
    from edge.enrich.client import ProviderClient
    from edge.rules.segments import SegmentEngine
    from edge.rules.traits import TraitEngine

    TraitEngine(cfg.traits, case_sensitive=cfg.dcs.case_sensitive)
    SegmentEngine(cfg.segments)
    for provider in cfg.providers:
        ProviderClient(provider)  # adapter templates are compiled here


def cmd_check(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edge check", description="Validate a deployment config.")
    ap.add_argument("config")
    args = ap.parse_args(argv)
    cfg = _load_checked(args.config, args.config)
    if cfg is None:
        return 1
    print(f"{args.config}: ok ({len(cfg.providers)} providers, {len(cfg.traits)} traits, "
          f"{len(cfg.segments)} segments, {len(cfg.destinations)} destinations)")
    return 0


def cmd_site(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edge site", description="Run the demo customer site.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    args = ap.parse_args(argv)
    import uvicorn

    from edge.demo.site import create_site

    uvicorn.run(create_site(), host=args.host, port=args.port, log_level="warning",
                access_log=False)
    return 0


def cmd_bench(argv: list[str]) -> int:
    if not argv or argv[0] not in ("rules", "proxy"):
        print("usage: edge bench {rules,proxy} [options]", file=sys.stderr)
        return 2
    module = {"rules": "edge.rules.bench", "proxy": "edge.bench_proxy"}[argv[0]]
    return _module_main(module)(argv[1:])


LOCAL: dict[str, Callable[[list[str]], int]] = {
    "proxy": cmd_proxy, "dcs": cmd_dcs, "check": cmd_check, "site": cmd_site, "bench": cmd_bench,
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name in LOCAL:
        return LOCAL[name](rest)
    if name in COMMANDS and COMMANDS[name][0]:
        return _module_main(COMMANDS[name][0])(rest)
    print(f"edge: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
