"""Fixtures shared by the test packages: a real redis-server (Debian's ``redis-server``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

_READY_TRIES = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not on PATH: install it (Debian: apt install redis-server)")
    return binary


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
         "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(port=port, socket_connect_timeout=1)
    try:
        for _ in range(_READY_TRIES):
            if proc.poll() is not None:
                break
            try:
                client.ping()
                return proc, port
            except redis.ConnectionError:
                time.sleep(0.05)
    finally:
        client.close()
    proc.kill()
    proc.wait()
    raise RuntimeError(f"redis-server did not come up on port {port}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A private redis-server on an ephemeral port (no persistence); yields the port."""
    proc, port = _start_redis(_redis_binary(), tmp_path_factory.mktemp("redis"))
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def disposable_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A redis-server of the test's own, which the test may stop: (process, port)."""
    proc, port = _start_redis(_redis_binary(), tmp_path)
    yield proc, port
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)




@pytest.fixture
def empty_redis(redis_server: int) -> int:
    """The private server's port, its database emptied for this test."""
    client = redis.Redis(port=redis_server)
    client.flushdb()
    client.close()
    return redis_server
