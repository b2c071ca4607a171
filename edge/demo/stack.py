"""Start and stop the whole stack as real processes: DCS, providers, demo site, edge.

Used by ``edge demo`` and by the live tests (the same code path a user runs). Each service is
its own process on 127.0.0.1; ``Stack.start()`` waits until each answers and raises
``StackError`` with the tail of the failing process's log otherwise; ``Stack.stop()`` stops
every process it started (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO

DEFAULTS = {"edge": 8080, "dcs": 8081, "admin": 8089, "site": 8090,
            "acme": 8101, "birch": 8102, "cedar": 8103}
PROVIDERS = {"acme": 1001, "birch": 1002, "cedar": 1003}


class StackError(RuntimeError):
    """A process of the stack did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ephemeral_ports() -> dict[str, int]:
    return {name: free_port() for name in DEFAULTS}


def demo_config_text(ports: Mapping[str, int], state_dir: Path) -> str:
    """The packaged demo config, moved to `ports` and to a store under `state_dir`."""
    text = (resources.files("edge") / "demo.toml").read_text(encoding="utf-8")
    for name, default in DEFAULTS.items():
        text = text.replace(f"127.0.0.1:{default}", f"127.0.0.1:{ports.get(name, default)}")
    store = (state_dir / "profiles.db").as_posix()
    return text.replace("sqlite:///var/demo/profiles.db", f"sqlite:///{store}")


@dataclass
class Service:
    name: str
    argv: list[str]
    port: int
    health: str  # path answered with 200 once up ("" = just a TCP connect)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    log: IO[bytes] | None = None


@dataclass
class Stack:
    config_path: Path
    ports: dict[str, int]
    log_dir: Path
    provider_args: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    on_edge_line: Callable[[str], None] | None = None
    services: list[Service] = field(default_factory=list)

    def plan(self) -> list[Service]:
        py = sys.executable
        cfg = str(self.config_path)
        edge_url = f"http://127.0.0.1:{self.ports['edge']}"
        out = [Service("dcs", [py, "-m", "edge.cli", "dcs", "--config", cfg], self.ports["dcs"],
                       "/healthz")]
        for name, dpid in PROVIDERS.items():
            argv = [py, "-m", "edge.cli", "provider", "--name", name, "--dpid", str(dpid),
                    "--port", str(self.ports[name]), "--ibs-url", f"{edge_url}/ibs:"]
            out.append(Service(name, argv + self.provider_args.get(name, []), self.ports[name],
                               "/healthz"))
        out.append(Service("site", [py, "-m", "edge.cli", "site", "--port",
                                    str(self.ports["site"])], self.ports["site"], "/healthz"))
        out.append(Service("edge", [py, "-m", "addons.run", "--config", cfg],
                           self.ports["edge"], ""))
        return out

    def start(self, timeout_s: float = 30.0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        try:
            for svc in self.plan():
                svc.log_path = self.log_dir / f"{svc.name}.log"
                log = svc.log = open(svc.log_path, "wb")  # noqa: SIM115 - closed by stop()
                pipe = svc.name == "edge" and self.on_edge_line is not None
                svc.proc = subprocess.Popen(
                    svc.argv, stdout=subprocess.PIPE if pipe else log, stderr=log, env=env,
                    start_new_session=True,
                )
                if pipe and svc.proc.stdout is not None:
                    threading.Thread(target=self._pump, args=(svc.proc.stdout, log),
                                     daemon=True).start()
                self.services.append(svc)
            for svc in self.services:
                self._wait(svc, timeout_s)
        except BaseException:
            self.stop()
            raise

    def _pump(self, stream: IO[bytes], log: IO[bytes]) -> None:
        for raw in stream:
            log.write(raw)
            log.flush()
            if self.on_edge_line is not None:
                self.on_edge_line(raw.decode("utf-8", "replace").rstrip("\n"))

    def _wait(self, svc: Service, timeout_s: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert svc.proc is not None
            if svc.proc.poll() is not None:
                raise StackError(f"{svc.name} exited with {svc.proc.returncode}:\n{self.tail(svc)}")
            try:
                if svc.health:
                    r = httpx.get(f"http://127.0.0.1:{svc.port}{svc.health}", timeout=1.0)
                    if r.status_code == 200:
                        return
                else:
                    with socket.create_connection(("127.0.0.1", svc.port), timeout=1.0):
                        return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.1)
        raise StackError(f"{svc.name} did not answer on port {svc.port}:\n{self.tail(svc)}")

    def tail(self, svc: Service, lines: int = 30) -> str:
        if svc.log_path is None or not svc.log_path.exists():
            return ""
        return "\n".join(svc.log_path.read_text("utf-8", "replace").splitlines()[-lines:])

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def stop(self, grace_s: float = 8.0) -> None:
        for svc in reversed(self.services):
            if svc.proc is not None and svc.proc.poll() is None:
                svc.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for svc in reversed(self.services):
            if svc.proc is None:
                continue
            try:
                svc.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(svc.proc.pid, signal.SIGKILL)
                svc.proc.wait()
            if svc.proc.stdout is not None:
                svc.proc.stdout.close()
        for svc in self.services:
            if svc.log is not None:
                svc.log.close()
        self.services.clear()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def format_hit(line: str, names: Mapping[int, str]) -> str | None:
    """The demo's one line per enriched hit, from the edge's structured log line."""
    start = line.find('{"event":"hit"')
    if start < 0:
        return None
    try:
        hit = json.loads(line[start:])
    except ValueError:
        return None
    provs = ", ".join(
        f'{p["name"]} {p["status"]} {p["ms"]:.0f}ms' + (" (cache)" if p["cache"] == "hit" else "")
        for p in hit.get("providers", [])
    )
    segs = hit.get("segments") or []
    seg_text = ", ".join(f"{s} {names.get(s, '')}".strip() for s in segs) or "none"
    return f'hit  visitor {hit.get("uuid")}  [{provs}]  segments: {seg_text}'
