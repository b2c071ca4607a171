"""Two edge processes of one deployment share provider answers through a real redis-server."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest
import redis

from edge.demo.stack import free_port
from edge.testing import LiveStack, generous

pytestmark = pytest.mark.live

PROVIDERS = ("acme", "birch", "cedar")


def test_a_second_edge_finds_what_the_first_one_asked(
    stack_factory: Callable[..., LiveStack], redis_server: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    prefix = f"live{time.monotonic_ns()}:"
    url = f"redis://127.0.0.1:{redis_server}/0?prefix={prefix}"

    def shared(text: str) -> str:
        return generous(text).replace(
            "deadline_ms = 3000",
            f'deadline_ms = 3000\nshared_cache = "{url}"\nshared_cache_timeout_ms = 500', 1)

    stack = stack_factory(shared)
    # the second edge: the same config, its own public and admin listeners
    port, admin = free_port(), free_port()
    text = stack.config_path.read_text()
    text = text.replace(f'listen = "127.0.0.1:{stack.ports["edge"]}"',
                        f'listen = "127.0.0.1:{port}"', 1)
    text = text.replace(f'admin = "127.0.0.1:{stack.ports["admin"]}"',
                        f'admin = "127.0.0.1:{admin}"', 1)
    folder = tmp_path_factory.mktemp("edge2")
    (folder / "edge2.toml").write_text(text)
    log = (folder / "edge2.log").open("wb")
    second = subprocess.Popen([sys.executable, "-m", "addons.run", "--config",
                               str(folder / "edge2.toml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_up(f"http://127.0.0.1:{admin}/metrics", second)
        hit = f"/event?d_rtbd=json&c_page=home&d_uuid={4242:038d}"
        first = httpx.get(stack.edge_url + hit, timeout=10)
        assert first.status_code == 200
        assert first.headers["server-timing"].count("ok/miss") == 3
        keys = _wait_keys(redis_server, prefix, 3)
        # <prefix><tenant (none)>:<provider>\x1f<hashed visitor and consent>
        assert {k.decode().removeprefix(prefix + ":").split("\x1f")[0] for k in keys} == set(
            PROVIDERS)
        calls = {n: stack.calls(n) for n in PROVIDERS}

        other = httpx.get(f"http://127.0.0.1:{port}{hit}", timeout=10)
        assert other.status_code == 200
        assert other.headers["server-timing"].count("ok/shared") == 3
        assert other.json()["stuff"] == first.json()["stuff"]  # the same segments qualified
        # the second edge asked no provider
        assert {n: stack.calls(n) for n in PROVIDERS} == calls
    finally:
        second.terminate()
        second.wait(20)
        log.close()


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the second edge exited"
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the second edge did not start")


def _wait_keys(port: int, prefix: str, n: int) -> list[bytes]:
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while len(keys := client.keys(prefix + "*")) < n:
            assert time.monotonic() < deadline, keys
            time.sleep(0.02)
        return sorted(keys)
    finally:
        client.close()
