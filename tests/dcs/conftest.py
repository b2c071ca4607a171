"""Close the stores the helpers opened for a test (unclosed sqlite connections warn)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import OPENED


@pytest.fixture(autouse=True)
def _close_opened_stores() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()
