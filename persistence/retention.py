"""Which automatic snapshots to thin out as they age (manual, pre-restore and delete snapshots
are never thinned: an owner deletes those)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class Retention:
    keep_all_ms: int  # every snapshot younger than this stays
    keep_hourly_ms: int  # then the newest of each hour, up to this age
    keep_daily_ms: int  # then the newest of each day, up to this age; older ones go


def expired(snapshots: Iterable[tuple[int, int]], now: int, retention: Retention) -> list[int]:
    """The ids to delete among one chain's thinned snapshots, given as (id, createdAt) pairs
    newest first."""
    kept_buckets: set[tuple[str, int]] = set()
    doomed = []
    for snapshot_id, created_at in snapshots:
        age = now - created_at
        if age < retention.keep_all_ms:
            continue
        if age < retention.keep_hourly_ms:
            bucket = ("hour", created_at // HOUR_MS)
        elif age < retention.keep_daily_ms:
            bucket = ("day", created_at // DAY_MS)
        else:
            doomed.append(snapshot_id)
            continue
        if bucket in kept_buckets:
            doomed.append(snapshot_id)
        else:
            kept_buckets.add(bucket)
    return doomed
