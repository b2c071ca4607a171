"""Handles on the real stack for tests: the project's own and its users'.

``LiveStack`` is a running stack (DCS, providers, demo site, edge) on ephemeral ports;
``start_stack`` / ``start_debug_stack`` start one; the pytest fixtures ``stack_factory`` and
``debug_stack_factory`` (edge.testing.plugin, loaded automatically when this package is
installed) start them for a test and stop them after it. docs/testing.md shows how.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from edge.demo.stack import Stack, demo_config_text, ephemeral_ports, free_port
from edge.testing.web import DebugStack, WebEdge


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


def _write_config(state: Path, ports: dict[str, int],
                  config_edit: Callable[[str], str] | None) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    text = demo_config_text(ports, state)
    cfg = state / "config.toml"
    cfg.write_text(config_edit(text) if config_edit else text, encoding="utf-8")
    return cfg


def start_stack(state: Path, config_edit: Callable[[str], str] | None = None,
                **provider_args: list[str]) -> LiveStack:
    """The demo stack, its config passed through `config_edit`, started under `state`."""
    ports = ephemeral_ports()
    cfg = _write_config(state, ports, config_edit)
    stack = Stack(cfg, ports, state / "logs", provider_args=provider_args)
    stack.start()
    return LiveStack(stack, ports, cfg)


def start_debug_stack(state: Path, config_edit: Callable[[str], str] | None = None,
                      record: Path | None = None, **provider_args: list[str]) -> DebugLiveStack:
    """The same with the edge under ``edge debug`` (mitmweb and the debugging addons)."""
    ports = ephemeral_ports()
    cfg = _write_config(state, ports, config_edit)
    stack = DebugStack(cfg, ports, state / "logs", provider_args=provider_args,
                       web_port=free_port(), record=record)
    web = WebEdge(stack.web_port, stack.web_password)
    try:
        stack.start()
        web.wait()
    except BaseException:
        web.close()
        stack.stop()
        raise
    return DebugLiveStack(stack, ports, cfg, web)


def stop(live: LiveStack) -> None:
    if isinstance(live, DebugLiveStack):
        live.web.close()
    live.stack.stop()
