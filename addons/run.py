"""The lean production runner behind ``edge proxy`` (``python -m addons.run --config FILE``).

A mitmproxy Master with only the core addons this job needs (the field-measured cost of the
default ~36-addon chain is about half the throughput) plus the edge's own, and safe defaults for
a public edge: ``connection_strategy=lazy`` (a down DCS does not kill client connections),
``keep_host_header``, HTTP/1.1 towards clients (no h2->h1 per-request upstream connections), a
body size limit, a graceful drain on SIGTERM/SIGINT and a config reload on SIGHUP (see
``EdgeAddon.reload``; a bad file is reported and the running config stays). ``Block`` is not
loaded, so ``block_global`` does not turn public clients away.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from mitmproxy import exceptions, options
from mitmproxy.addons import core, disable_h2c, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master

from addons.dispatch import TableAddonManager
from addons.drain import Drain
from addons.edge_addon import EdgeAddon
from edge import config as edge_config
from edge import runtime

log = logging.getLogger("edge.proxy")


class _Ready:
    """Prints the listen addresses once the servers are up (tests and the demo read it)."""

    def __init__(self, master: Master) -> None:
        self.master = master

    def running(self) -> None:
        ps = self.master.addons.get("proxyserver")
        for host, port, *_ in ps.listen_addrs():
            print(f"edge listening on {host}:{port}", flush=True)
        runtime.freeze_startup()  # full GC pauses: 65-80 ms -> about 10 ms under load


def build_options(cfg: edge_config.Config, path: str, args: argparse.Namespace) -> dict[str, Any]:
    host, _, port = cfg.edge.listen.rpartition(":")
    extra = [f"reverse:{cfg.edge.origin}@{addr}" for addr in args.listen or []]
    opts: dict[str, Any] = {
        "mode": [f"reverse:{cfg.edge.origin}@{host}:{port}", *extra],
        "connection_strategy": "lazy",
        "keep_host_header": True,
        "http2": False,
        "http3": False,
        "body_size_limit": cfg.edge.body_size_limit,
        "certs": list(cfg.edge.certs) + list(args.certs or []),
        "edge_config": path,
        "edge_admin": not args.no_admin,
        "edge_hit_log": "stdout",  # JSON lines in batches: the logging module costs per hit
    }
    if args.confdir:
        opts["confdir"] = args.confdir
    return opts


async def serve(
    path: str,
    args: argparse.Namespace,
    extra: list[Any] | None = None,
) -> int:
    cfg = edge_config.load(path)
    opts = options.Options()
    master = Master(opts)
    master.addons = TableAddonManager(master)  # hook dispatch from a table
    drain = Drain()
    edge = EdgeAddon(marks=False)
    master.addons.add(
        core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(),
        disable_h2c.DisableH2C(), edge, drain, *(extra or []), _Ready(master),
    )
    try:
        opts.update(**build_options(cfg, path, args))
    except exceptions.OptionsError as e:
        print(f"edge proxy: {e}", file=sys.stderr)
        return 2
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: loop.create_task(drain.begin()))
    loop.add_signal_handler(signal.SIGHUP, lambda: reload(edge))
    await master.run()
    return 0


def reload(edge: EdgeAddon) -> None:
    """SIGHUP: read the config file again; a bad file is logged and the running config
    stays."""
    try:
        print(f"edge: {edge.reload()}", flush=True)
    except ValueError as e:
        log.error("config not reloaded: %s", e)


def setup_logging(verbose: bool) -> None:
    """Log records to stdout. The per-hit lines do not come this way: the runner sets
    ``edge_hit_log=stdout`` (batched JSON lines), so what is logged here is rare."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="edge proxy", description="Run the edge (mitmproxy).")
    ap.add_argument("--config", required=True, help="deployment config (TOML)")
    ap.add_argument("--certs", action="append", help="[domain=]path.pem (key + chain), repeatable")
    ap.add_argument("--listen", action="append", metavar="[HOST:]PORT",
                    help="one more public listener with the same routes (e.g. the DCS paths on "
                    "their own hostname), repeatable")
    ap.add_argument("--confdir", help="mitmproxy confdir (its CA for hosts without --certs)")
    ap.add_argument("--no-admin", action="store_true", help="do not serve metrics")
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not Path(args.config).is_file():
        print(f"edge proxy: --config {args.config}: no such file", file=sys.stderr)
        return 2
    try:
        edge_config.load(args.config)
    except edge_config.ConfigError as e:
        print(f"edge proxy: {e}", file=sys.stderr)
        return 2
    setup_logging(args.verbose)
    return asyncio.run(serve(args.config, args))


if __name__ == "__main__":
    sys.exit(main())
