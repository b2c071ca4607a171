"""The same addons load into stock mitmproxy tools: `mitmdump -s addons/entry.py`."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import addons
from edge.demo.stack import free_port
from edge.testing import LiveStack, generous

pytestmark = pytest.mark.live

ENTRY = Path(addons.__file__).parent / "entry.py"


def test_mitmdump_with_the_entry_script_enriches_hits(
    stack_factory: Callable[..., LiveStack], tmp_path: Path
) -> None:
    stack = stack_factory(generous)
    port = free_port()
    mitmdump = Path(sys.executable).parent / "mitmdump"
    argv = [str(mitmdump), "-q", "--mode", f"reverse:{stack.url('site')}@127.0.0.1:{port}",
            "--set", "connection_strategy=lazy", "--set", "keep_host_header=true",
            "--set", f"confdir={tmp_path}", "-s", str(ENTRY),
            "--set", f"edge_config={stack.config_path}", "--set", "edge_admin=false"]
    log = tmp_path / "mitmdump.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        r = None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/event?d_rtbd=json&d_cts=2&c_page=home",
                              timeout=10)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert r is not None, log.read_text()
        assert r.status_code == 200, r.text
        assert "p-acme;" in r.headers["server-timing"]
        assert len(r.json()["traits"]) >= 2  # the page trait and the providers' onboarded ones
        site = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert site.status_code == 200 and "tag.js" in site.text  # the origin, untouched
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_bad_config_stops_mitmdump_with_the_option_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('secret = "0123456789abcdef0123"\n[edge]\ndeadline_ms = -1\n')
    mitmdump = Path(sys.executable).parent / "mitmdump"
    out = subprocess.run(
        [str(mitmdump), "--mode", f"reverse:http://127.0.0.1:{free_port()}@127.0.0.1:0",
         "--set", f"confdir={tmp_path}", "-s", str(ENTRY), "--set", f"edge_config={bad}"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    said = out.stdout + out.stderr
    assert "edge_config" in said and "edge.deadline_ms" in said
