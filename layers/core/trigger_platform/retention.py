"""The log lifecycle's housekeeping, run by the retention cron every 5 minutes.

Reads already apply the 2 h / 48 h rule themselves; this job keeps storage in step with it:
hourly partitions are created a day ahead (writers also create a missing one on demand), a
partition is dropped once all of it is past 48 h, and the exactly-once and idempotency records
that can no longer matter are purged. It is idempotent, bounded per run, and a second run that
starts while one is going returns at once.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from trigger_platform.clock import Clock
from trigger_platform.lifecycle import RETAINED_FOR
from trigger_platform.ports import RetentionStore

PARTITIONS_AHEAD = timedelta(hours=24)
MAX_PARTITIONS_DROPPED_PER_RUN = 48
MAX_ROWS_PURGED_PER_RUN = 10_000
#: Idempotency-Keys are honoured for 24 h.
IDEMPOTENCY_RETENTION = timedelta(hours=24)
#: Scheduler gives up on a delivery after at most 24 h, so older exactly-once records are inert.
SCHEDULED_FIRE_RETENTION = RETAINED_FOR + timedelta(hours=1)


@dataclass(frozen=True)
class RetentionReport:
    ran: bool
    partitions_created: int = 0
    partitions_dropped: int = 0
    logs_removed: int = 0
    idempotency_keys_purged: int = 0
    scheduled_fires_purged: int = 0
    deliveries_purged: int = 0
    log_counts_purged: int = 0


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    return [first + timedelta(hours=i) for i in range(int((end - first) / timedelta(hours=1)) + 1)]


def run_retention(*, store: RetentionStore, clock: Clock) -> RetentionReport:
    with store.exclusive_run() as ours:
        if not ours:
            return RetentionReport(ran=False)
        now = clock.now()
        created = store.ensure_partitions(hours_between(now - timedelta(hours=1), now + PARTITIONS_AHEAD))
        dropped = removed = 0
        for partition in store.partitions_ending_by(now - RETAINED_FOR, MAX_PARTITIONS_DROPPED_PER_RUN):
            removed += store.drop_partition(partition)
            dropped += 1
        return RetentionReport(
            ran=True,
            partitions_created=created,
            partitions_dropped=dropped,
            logs_removed=removed,
            idempotency_keys_purged=store.purge_idempotency_keys(now - IDEMPOTENCY_RETENTION, MAX_ROWS_PURGED_PER_RUN),
            scheduled_fires_purged=store.purge_scheduled_fires(now - SCHEDULED_FIRE_RETENTION, MAX_ROWS_PURGED_PER_RUN),
            # A delivery outlives its log by nothing: without the log there is nothing to send.
            deliveries_purged=store.purge_deliveries(now - RETAINED_FOR, MAX_ROWS_PURGED_PER_RUN),
            # An hour's counts matter while any of its logs may be read: until it ends 48 h ago.
            log_counts_purged=store.purge_log_counts(now - RETAINED_FOR - timedelta(hours=1), MAX_ROWS_PURGED_PER_RUN),
        )
