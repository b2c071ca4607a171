"""A writer killed with SIGKILL mid-burst leaves a sound database with every acknowledged write."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.profiles import open_store
from tests.profiles._workers import count

ROOT = Path(__file__).resolve().parents[2]
ACKS_BEFORE_KILL = 300


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_burst_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    url = f"sqlite:///{path}"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.profiles._workers", url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acked: list[str] = []
    try:
        for line in child.stdout:
            acked.append(line.strip())
            if len(acked) >= ACKS_BEFORE_KILL:
                break
        child.send_signal(signal.SIGKILL)  # the child is writing its next profile by now
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert len(acked) == ACKS_BEFORE_KILL

    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        check.close()
    store = open_store(url)
    try:
        missing = [uuid for uuid in acked if count(store.load(uuid)) != 1]
        assert missing == []
        assert store.stats().profiles >= len(acked)
    finally:
        store.close()
