"""The stack with its edge under ``edge debug`` (mitmweb and our addons), and a handle on
mitmweb's REST API: run ``edge.*`` commands, set options (chaos on and off), list flows and
fetch a flow's content view, as a person does in the UI."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from edge.demo.stack import Service, Stack


@dataclass
class DebugStack(Stack):
    """A Stack whose edge is ``edge debug`` (mitmweb) rather than the lean runner."""

    web_port: int = 0
    web_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    record: Path | None = None

    def plan(self) -> list[Service]:
        services = super().plan()
        edge = next(s for s in services if s.name == "edge")
        edge.argv = [sys.executable, "-m", "edge.debug", "--config", str(self.config_path),
                     # one argument: a token may start with "-", which argparse takes for a flag
                     "--web-port", str(self.web_port), f"--web-password={self.web_password}",
                     "--set", "termlog_verbosity=warn"]
        if self.record is not None:
            edge.argv += ["--record", str(self.record)]
        return services


class CommandFailed(RuntimeError):
    """mitmweb answered a command with an error."""


class WebEdge:
    """mitmweb's API: the password as a bearer token, and the xsrf cookie + header pair that
    every state-changing call needs."""

    def __init__(self, port: int, password: str) -> None:
        xsrf = secrets.token_hex(16)
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10.0,
            headers={"Authorization": f"Bearer {password}", "X-XSRFToken": xsrf},
            cookies={"_mitmproxy_xsrf": xsrf},
        )

    def wait(self, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.http.get("/state.json").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("mitmweb did not answer")
            time.sleep(0.1)

    def command(self, name: str, *args: str) -> Any:
        r = self.http.post(f"/commands/{name}", json={"arguments": list(args)})
        r.raise_for_status()
        doc = r.json()
        if "error" in doc:
            raise CommandFailed(doc["error"])
        return doc["value"]

    def set_options(self, **options: Any) -> None:
        self.http.put("/options", json=options).raise_for_status()

    @contextmanager
    def chaos(self, *specs: str, seed: int | None = None) -> Iterator[None]:
        """Chaos specs on for the ``with`` block, then off again."""
        self.set_options(edge_chaos=list(specs), edge_chaos_seed=seed)
        try:
            yield
        finally:
            self.set_options(edge_chaos=[])

    def flows(self) -> list[dict[str, Any]]:
        flows: list[dict[str, Any]] = self.http.get("/flows").json()
        return flows

    def view(self, flow_id: str, message: str = "request", view: str = "auto") -> dict[str, Any]:
        r = self.http.get(f"/flows/{flow_id}/{message}/content/{view}.json")
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc

    def close(self) -> None:
        self.http.close()
