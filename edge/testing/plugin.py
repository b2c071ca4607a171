"""pytest fixtures that start the real stack for a test (registered as a pytest plugin).

- ``stack_factory(config_edit=None, **provider_args) -> LiveStack``: the lean edge.
- ``debug_stack_factory(config_edit=None, record=None, **provider_args) -> DebugLiveStack``:
  the edge under ``edge debug`` with ``.web`` on mitmweb's API.

Every stack a test starts is stopped when the test ends, even when it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.testing.live import DebugLiveStack, LiveStack, start_debug_stack, start_stack, stop


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., LiveStack]]:
    """Start the demo stack (lean edge) on ephemeral ports: ``make(config_edit, **args)``."""
    started: list[LiveStack] = []

    def make(config_edit: Callable[[str], str] | None = None, **provider_args: Any) -> LiveStack:
        live = start_stack(tmp_path / f"stack{len(started)}", config_edit, **provider_args)
        started.append(live)
        return live

    yield make
    for live in started:
        stop(live)


@pytest.fixture
def debug_stack_factory(tmp_path: Path) -> Iterator[Callable[..., DebugLiveStack]]:
    """The same with the edge under ``edge debug``; ``.web`` drives mitmweb's API."""
    started: list[LiveStack] = []

    def make(config_edit: Callable[[str], str] | None = None, record: Path | None = None,
             **provider_args: Any) -> DebugLiveStack:
        live = start_debug_stack(tmp_path / f"debug{len(started)}", config_edit, record,
                                 **provider_args)
        started.append(live)
        return live

    yield make
    for live in started:
        stop(live)


def pytest_configure(config: pytest.Config) -> None:
    """The markers the live tests use, so projects with --strict-markers need not declare them."""
    config.addinivalue_line("markers", "live: starts real processes (the edge stack)")
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")
