"""RetentionStore over PostgreSQL: partition upkeep for event_logs and purges of small tables.

Partitions are named ``event_logs_pYYYYMMDDHH`` (UTC hour, see migration 0002). Dropping uses
``DETACH PARTITION … CONCURRENTLY`` so inserts and reads on the parent never wait behind an
ACCESS EXCLUSIVE lock; a detach interrupted half-way is finalised by the next run.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from psycopg2 import sql

from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database

_LOCK_KEY = 7_242_002
_NAME_PREFIX = "event_logs_p"


def partition_end(name: str) -> datetime | None:
    """The exclusive upper bound of a partition, read from its name."""
    try:
        start = datetime.strptime(name.removeprefix(_NAME_PREFIX), "%Y%m%d%H").replace(tzinfo=UTC)
    except ValueError:
        return None
    return start + timedelta(hours=1)


class PostgresRetentionStore:
    def __init__(self, db: Database, partitions: LogPartitions) -> None:
        self._db = db
        self._partitions = partitions

    @contextmanager
    def exclusive_run(self) -> Iterator[bool]:
        with self._db.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,))
            (ours,) = cur.fetchone() or (False,)
        try:
            yield bool(ours)
        finally:
            if ours:
                with self._db.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))

    def ensure_partitions(self, hours: list[datetime]) -> int:
        created = 0
        with self._db.cursor() as cur:
            for hour in hours:
                name = _NAME_PREFIX + hour.astimezone(UTC).strftime("%Y%m%d%H")
                cur.execute("SELECT to_regclass(%s) IS NULL", (name,))
                (missing,) = cur.fetchone() or (False,)
                if missing:
                    cur.execute("SELECT ensure_event_log_partition(%s)", (hour,))
                    created += 1
        return created

    def partitions_ending_by(self, moment: datetime, limit: int) -> list[str]:
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT c.relname, i.inhdetachpending
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'event_logs'::regclass
                """
            )
            rows = cur.fetchall()
        expired = []
        for name, detach_pending in rows:
            end = partition_end(name)
            if end is not None and end <= moment:
                expired.append((end, name))
            elif detach_pending:
                self._finalize_detach(name)
        return [name for _, name in sorted(expired)[:limit]]

    def _finalize_detach(self, name: str) -> None:
        with self._db.cursor() as cur:
            cur.execute(sql.SQL("ALTER TABLE event_logs DETACH PARTITION {} FINALIZE").format(sql.Identifier(name)))

    def drop_partition(self, name: str) -> int:
        table = sql.Identifier(name)
        with self._db.cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
            (rows,) = cur.fetchone() or (0,)
            cur.execute(
                "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(%s)",
                (name,),
            )
            attached = cur.fetchone()
            if attached is not None:
                if attached[0]:
                    cur.execute(sql.SQL("ALTER TABLE event_logs DETACH PARTITION {} FINALIZE").format(table))
                else:
                    cur.execute(sql.SQL("ALTER TABLE event_logs DETACH PARTITION {} CONCURRENTLY").format(table))
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        self._partitions.forget()
        return int(rows)

    def purge_idempotency_keys(self, created_before: datetime, limit: int) -> int:
        return self._purge("idempotency_keys", "created_at", created_before, limit)

    def purge_scheduled_fires(self, fired_before: datetime, limit: int) -> int:
        return self._purge("scheduled_fires", "fired_at", fired_before, limit)

    def purge_log_counts(self, hours_before: datetime, limit: int) -> int:
        return self._purge("event_log_counts", "hour", hours_before, limit)

    def _purge(self, table: str, column: str, before: datetime, limit: int) -> int:
        """Delete at most ``limit`` rows of ``table`` whose ``column`` is before ``before``."""
        query = sql.SQL("DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {column} < %s LIMIT %s)")
        with self._db.cursor() as cur:
            cur.execute(query.format(table=sql.Identifier(table), column=sql.Identifier(column)), (before, limit))
            return int(cur.rowcount)

    def purge_deliveries(self, fired_before: datetime, limit: int) -> int:
        with self._db.cursor() as cur:
            cur.execute(
                """
                DELETE FROM deliveries WHERE log_id IN (
                    SELECT log_id FROM deliveries WHERE fired_at < %s LIMIT %s)
                """,
                (fired_before, limit),
            )
            return int(cur.rowcount)
