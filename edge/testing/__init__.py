"""Testing with the real stack: handles, fixtures and chaos for the project's tests and yours.

See docs/testing.md. The fixtures live in ``edge.testing.plugin`` (a pytest plugin registered
by the package); the rest is importable from here.
"""

from edge.testing.live import (
    DebugLiveStack,
    LiveStack,
    generous,
    provider_fault,
    start_debug_stack,
    start_stack,
    stop,
)
from edge.testing.web import CommandFailed, DebugStack, WebEdge

__all__ = [
    "CommandFailed", "DebugLiveStack", "DebugStack", "LiveStack", "WebEdge", "generous",
    "provider_fault", "start_debug_stack", "start_stack", "stop",
]
