"""Fixtures that run the real stack: DCS (uvicorn), providers, demo site, edge (mitmproxy).

``stack_factory(**provider_args)`` starts a fresh stack on ephemeral ports with its own store
and returns a ``LiveStack``; everything it started is stopped at the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from edge.demo.stack import Stack, demo_config_text, ephemeral_ports


@dataclass
class LiveStack:
    stack: Stack
    ports: dict[str, int]
    config_path: Path

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['edge']}"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.edge_url, timeout=10.0, **kw)  # type: ignore[arg-type]

    def control(self, provider: str, **behaviour: object) -> dict[str, object]:
        r = httpx.post(f"{self.url(provider)}/_control", json=behaviour, timeout=5.0)
        r.raise_for_status()
        doc: dict[str, object] = r.json()
        return doc

    def calls(self, provider: str) -> int:
        n: int = httpx.get(f"{self.url(provider)}/_stats", timeout=5.0).json()["calls"]
        return n

    def log(self, name: str) -> str:
        svc = self.stack.service(name)
        assert svc.log_path is not None
        return svc.log_path.read_text("utf-8", "replace")


def generous(text: str) -> str:
    """The demo config with deadlines a loaded test machine always meets (tests that are about
    deadlines set their own)."""
    text = text.replace("deadline_ms = 100", "deadline_ms = 3000")
    return text.replace("timeout_ms = 80", "timeout_ms = 2500").replace(
        "timeout_ms = 60", "timeout_ms = 2500"
    )


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., LiveStack]]:
    started: list[Stack] = []

    def make(config_edit: Callable[[str], str] | None = None, **provider_args: list[str]
             ) -> LiveStack:
        ports = ephemeral_ports()
        state = tmp_path / f"stack{len(started)}"
        state.mkdir()
        text = demo_config_text(ports, state)
        if config_edit is not None:
            text = config_edit(text)
        cfg = state / "config.toml"
        cfg.write_text(text, encoding="utf-8")
        stack = Stack(cfg, ports, state / "logs", provider_args=provider_args)
        started.append(stack)
        stack.start()
        return LiveStack(stack, ports, cfg)

    yield make
    for stack in started:
        stack.stop()
