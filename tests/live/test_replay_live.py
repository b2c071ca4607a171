"""The regression check on a recorded session: record DCS hits with `edge debug --record`,
replay the file through a fresh stack's edge, and compare what the DCS answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from addons import replay
from edge.testing import DebugLiveStack, LiveStack, generous

pytestmark = [pytest.mark.live, pytest.mark.timeout(180)]

VISITORS = ("12345678901234567890123456789012345678", "98765432109876543210987654321098765432")
HITS = [f"/event?d_rtbd=json&d_cts=2&c_page={page}&d_uuid={uuid}"
        for uuid in VISITORS for page in ("home", "shoes")]


def _record(factory: Callable[..., DebugLiveStack], path: Path) -> None:
    stack = factory(generous, record=path)
    with stack.client() as c:
        for hit in HITS:
            assert c.get(hit).status_code == 200
        assert c.get("/").status_code == 200  # the site: not a DCS flow, not recorded
    stack.stack.stop()


def test_a_recorded_session_replays_identically_and_a_regression_is_reported(
    debug_stack_factory: Callable[..., DebugLiveStack],
    stack_factory: Callable[..., LiveStack],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recording = tmp_path / "session.flows"
    _record(debug_stack_factory, recording)
    hits = list(replay.read_hits(str(recording)))
    assert [h.request.path for h in hits] == HITS
    assert all(replay.recorded_answer(h)["traits"] for h in hits)  # type: ignore[index]

    same = stack_factory(generous)
    assert replay.main([str(recording), "--edge", same.edge_url]) == 0
    assert "4 hits replayed, 0 differ" in capsys.readouterr().out

    broken = stack_factory(generous, cedar=["--failure-rate", "1.0"])
    assert replay.main([str(recording), "--edge", broken.edge_url]) == 1
    out = capsys.readouterr().out
    assert "4 hits replayed, 4 differ" in out
    assert "traits: lost ['30" in out  # cedar's onboarded traits (301-303) are gone


def test_an_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "not.flows"
    bad.write_bytes(b"this is not a flow file")
    assert replay.main([str(bad), "--edge", "http://127.0.0.1:9"]) == 2
    assert "replay:" in capsys.readouterr().err
