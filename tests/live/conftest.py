"""Fixtures that run the real stack: DCS (uvicorn), providers, demo site, edge (mitmproxy).

``stack_factory(**provider_args)`` starts a fresh stack on ephemeral ports with its own store
and returns a ``LiveStack``; everything it started is stopped at the end of the test.
``debug_stack_factory(record=None, **provider_args)`` does the same with the edge under
``edge debug`` (mitmweb and the debugging addons) and returns a ``DebugLiveStack`` whose
``web`` drives mitmweb's API: ``web.command(...)``, ``web.chaos(*specs)`` (a ``with`` block),
``web.flows()``, ``web.view(flow_id)``. ``provider_fault(stack, name, **behaviour)`` makes a
reference provider misbehave for a ``with`` block (its ``/_control`` endpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from edge.demo.stack import Stack, demo_config_text, ephemeral_ports, free_port

from ._debug import DebugStack, WebEdge


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


@dataclass
class DebugLiveStack(LiveStack):
    web: WebEdge


@contextmanager
def provider_fault(stack: LiveStack, name: str, **behaviour: object) -> Iterator[None]:
    """A reference provider misbehaves (mode, latency_ms, failure_rate) inside the block."""
    stack.control(name, **behaviour)
    try:
        yield
    finally:
        stack.control(name, mode="ok", latency_ms=0, jitter_ms=0, failure_rate=0.0)


@pytest.fixture
def debug_stack_factory(tmp_path: Path) -> Iterator[Callable[..., DebugLiveStack]]:
    started: list[tuple[Stack, WebEdge]] = []

    def make(config_edit: Callable[[str], str] | None = None, record: Path | None = None,
             **provider_args: list[str]) -> DebugLiveStack:
        ports = ephemeral_ports()
        state = tmp_path / f"debug{len(started)}"
        state.mkdir()
        text = demo_config_text(ports, state)
        cfg = state / "config.toml"
        cfg.write_text(config_edit(text) if config_edit else text, encoding="utf-8")
        stack = DebugStack(cfg, ports, state / "logs", provider_args=provider_args,
                           web_port=free_port(), record=record)
        web = WebEdge(stack.web_port, stack.web_password)
        started.append((stack, web))
        stack.start()
        web.wait()
        return DebugLiveStack(stack, ports, cfg, web)

    yield make
    for stack, web in started:
        web.close()
        stack.stop()
