"""Code run in child processes by the concurrency and crash tests."""

from __future__ import annotations

import sys

from edge.profiles import Profile, open_store


def bump(profile: Profile) -> None:
    """Increment the counter kept in ``attrs["n"]``."""
    count = int(profile.attrs.get("n", ["0"])[0])
    profile.attrs["n"] = [str(count + 1)]


def count(profile: Profile | None) -> int:
    return 0 if profile is None else int(profile.attrs.get("n", ["0"])[0])


def increment(url: str, uuid: str, times: int) -> None:
    """Multiprocessing target: ``times`` read-modify-write increments of one profile."""
    store = open_store(url)
    try:
        for i in range(times):
            store.update(uuid, bump, now=1_700_000_000 + i)
    finally:
        store.close()


def burst(url: str) -> None:
    """Update fresh profiles forever, printing each uuid once update() has returned."""
    store = open_store(url)
    i = 0
    while True:
        uuid = f"{i:038d}"
        store.update(uuid, bump, now=1_700_000_000 + i)
        sys.stdout.write(uuid + "\n")
        sys.stdout.flush()
        i += 1


if __name__ == "__main__":
    burst(sys.argv[1])
