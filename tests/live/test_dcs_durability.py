"""Killing the DCS mid-burst loses no acknowledged hit and leaves the store consistent."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from edge import config
from edge.demo.stack import demo_config_text, ephemeral_ports
from edge.profiles import open_store

pytestmark = pytest.mark.live


def _start_dcs(cfg: Path, port: int, log: Path, workers: int) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "dcs", "--config", str(cfg), "--workers",
             str(workers)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the DCS did not start:\n{log.read_text()}")


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_during_a_burst_keeps_every_acknowledged_hit(tmp_path: Path, workers: int) -> None:
    ports = ephemeral_ports()
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(demo_config_text(ports, tmp_path), encoding="utf-8")
    cfg = config.load(cfg_path)
    proc = _start_dcs(cfg_path, ports["dcs"], tmp_path / "dcs.log", workers)
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['dcs']}", timeout=5) as c:
            i = 0
            while not stop.is_set():
                uuid = f"{n + 1}{i:037d}"
                i += 1
                try:
                    r = c.get(f"/event?d_rtbd=json&d_uuid={uuid}&c_page=home")
                except httpx.HTTPError:
                    return  # the DCS is gone
                if r.status_code == 200 and r.json().get("uuid") == uuid:
                    with lock:
                        acked.append(uuid)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(writer, n) for n in range(6)]
        deadline = time.monotonic() + 30
        while len(acked) < 150 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the DCS and all its workers, mid-burst
        proc.wait(10)
        stop.set()
        for f in futures:
            f.result(timeout=30)
    assert len(acked) >= 150, "the burst was under way when the DCS was killed"

    db = tmp_path / "profiles.db"
    with contextlib.closing(sqlite3.connect(db)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = open_store(cfg.dcs.store)
    try:
        missing = [u for u in acked if store.load(u) is None]
        assert not missing, f"{len(missing)} acknowledged hits lost, e.g. {missing[:3]}"
        profile = store.load(acked[0])
        assert profile is not None and 1 in profile.traits  # the hit's trait was stored with it
    finally:
        store.close()
