"""Several worker processes writing one profile at once lose no update."""

from __future__ import annotations

import multiprocessing

from edge.profiles import open_store
from tests.profiles._workers import count, increment

UUID = "98765432109876543210987654321098765432"
PROCESSES = 4
UPDATES = 150


def test_processes_incrementing_one_profile_lose_no_update(store_url: str) -> None:
    # Workers open the store themselves, racing on schema creation for SQLite too.
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=increment, args=(store_url, UUID, UPDATES)) for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    store = open_store(store_url)
    try:
        assert count(store.load(UUID)) == PROCESSES * UPDATES
    finally:
        store.close()
