"""The hourly partitions of ``event_logs``: which hours this process knows exist, so a write costs
one extra round trip per hour at most (to create a missing partition) instead of one per insert.
Shared by the log store, which writes, and the retention store, which drops partitions."""

import threading
from datetime import datetime

from trigger_platform.adapters.postgres import Database


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class LogPartitions:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._hours: set[datetime] = set()
        self._lock = threading.Lock()

    def ensure(self, moments: list[datetime]) -> None:
        """A partition exists for the hour of each moment (created if this process has not seen it)."""
        with self._lock:
            missing = {_hour(at) for at in moments} - self._hours
        if not missing:
            return
        with self._db.cursor() as cur:
            for hour in sorted(missing):
                cur.execute("SELECT ensure_event_log_partition(%s)", (hour,))
        with self._lock:
            self._hours |= missing

    def forget(self) -> None:
        """After partitions were dropped. Only a clock set back past 48 h (tests) could write to
        one again, but then the insert must find it re-created, not fail."""
        with self._lock:
            self._hours.clear()
