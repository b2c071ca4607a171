"""Trait time-to-live and the UTC day numbers that bucket realizations.

A TTL of 0 days never expires. A 1-day TTL lasts ``24 + (24 - UTC hour of realization)``
hours (realized at 01:00 -> 47 h, at 23:00 -> 25 h), counted from the realization time.
Any other TTL lasts ``ttl_days * 86400`` seconds. Re-qualifying resets the TTL: callers pass
the latest realization time.
"""

from __future__ import annotations

DAY = 86_400
HOUR = 3_600


def expires_at(realized_ts: int, ttl_days: int) -> int | None:
    """Unix second at which a trait realized at `realized_ts` expires; None = never."""
    if ttl_days < 0:
        raise ValueError(f"ttl_days must be 0 or more, got {ttl_days}")
    if ttl_days == 0:
        return None
    if ttl_days == 1:
        hour = (realized_ts % DAY) // HOUR
        return realized_ts + (24 + (24 - hour)) * HOUR
    return realized_ts + ttl_days * DAY


def day_number(ts: int) -> int:
    """Days since the Unix epoch, in UTC (the day bucket of a realization at `ts`)."""
    return ts // DAY
