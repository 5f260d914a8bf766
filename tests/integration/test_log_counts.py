"""Aggregates from the hourly log counts against the real PostgreSQL: the same answer as counting
every log, whichever way the logs came in, concurrent writers, and retention of the counts."""

import io
import random
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest

from tests.integration.conftest import concurrently
from trigger_platform.adapters.log_store import PostgresLogStore
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.retention_store import PostgresRetentionStore
from trigger_platform.clock import ManualClock
from trigger_platform.ids import new_id
from trigger_platform.lifecycle import ACTIVE_FOR, RETAINED_FOR, Selection, window
from trigger_platform.records import AggregateRow, EventLog
from trigger_platform.retention import run_retention

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)
TRIGGERS = [uuid.uuid4(), uuid.uuid4(), None]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    with closing(Database(lambda: database_url)) as database:
        yield database


def store(db: Database) -> PostgresLogStore:
    return PostgresLogStore(db, LogPartitions(db))


def random_logs(tenant: uuid.UUID, count: int, seed: int) -> list[EventLog]:
    """Logs spread over 50 hours, a share of them exactly on an hour or a lifecycle boundary."""
    rng = random.Random(seed)
    exact = [NOW - ACTIVE_FOR, NOW - RETAINED_FOR, (NOW - 5 * HOUR).replace(minute=0, second=0)]
    made = []
    for _ in range(count):
        fired_at = rng.choice(exact) if rng.random() < 0.1 else NOW - timedelta(seconds=rng.uniform(-30, 50 * 3600))
        trigger = rng.choice(TRIGGERS)
        source = "test" if trigger is None else rng.choice(["api", "scheduled", "test"])
        kind = rng.choice(["api", "scheduled"])
        made.append(EventLog(new_id(fired_at), tenant, trigger, kind, source, source == "test", None, fired_at, {}))  # type: ignore[arg-type]
    return made


def copy_logs(database_url: str, logs: list[EventLog]) -> None:
    """Logs bulk-loaded as the benchmarks load them (COPY), partitions first."""
    with closing(Database(lambda: database_url)) as db:
        LogPartitions(db).ensure([log.fired_at for log in logs])
    null = "\\N"
    rows = "".join(
        f"{log.id}\t{log.tenant_id}\t{log.trigger_id or null}\t{log.trigger_type}\t{log.source}\t"
        f"{'t' if log.is_test else 'f'}\t{log.fired_at.isoformat()}\t{{}}\n"
        for log in logs
    )
    with closing(psycopg2.connect(database_url)) as conn, conn, conn.cursor() as cur:
        columns = "id, tenant_id, trigger_id, trigger_type, source, is_test, fired_at, payload"
        cur.copy_expert(f"COPY event_logs ({columns}) FROM STDIN", io.StringIO(rows))


def insert_in_one_statement(cur: Any, logs: list[EventLog]) -> None:
    """Many logs in one INSERT, as the scheduler writes a batch (each a new id: writers may repeat logs)."""
    cur.execute(
        "INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, fired_at, payload)"
        " SELECT gen_random_uuid(), t, tr, ty, s, f, '{}' FROM unnest(%s::uuid[], %s::uuid[], %s::text[],"
        " %s::text[], %s::timestamptz[]) AS b (t, tr, ty, s, f)",
        [
            [log.tenant_id for log in logs],
            [log.trigger_id for log in logs],
            [log.trigger_type for log in logs],
            [log.source for log in logs],
            [log.fired_at for log in logs],
        ],
    )


def counted_one_by_one(cur: Any, tenant: uuid.UUID, selection: Selection, active_after: datetime) -> set[Any]:
    """What an aggregate must say, counted from every selected log."""
    window = selection.window
    cur.execute(
        """
        SELECT trigger_id, trigger_type, source, count(*) FILTER (WHERE fired_at > %(active)s), count(*), max(fired_at)
          FROM event_logs
         WHERE tenant_id = %(tenant)s AND fired_at > %(after)s
           AND (%(not_after)s::timestamptz IS NULL OR fired_at <= %(not_after)s)
           AND (%(since)s::timestamptz IS NULL OR fired_at >= %(since)s)
           AND (%(until)s::timestamptz IS NULL OR fired_at < %(until)s)
           AND (%(trigger)s::uuid IS NULL OR trigger_id = %(trigger)s)
           AND (%(source)s::text IS NULL OR source = %(source)s)
         GROUP BY 1, 2, 3
        """,
        {
            "active": active_after,
            "tenant": tenant,
            "after": window.after,
            "not_after": window.not_after,
            "since": window.since,
            "until": window.until,
            "trigger": selection.trigger_id,
            "source": selection.source,
        },
    )
    return {AggregateRow(*row) for row in cur.fetchall()}


SELECTIONS = [
    {},
    {"state": "active"},
    {"state": "archived"},
    {"since": NOW - 30 * HOUR - timedelta(minutes=17)},
    {"since": NOW - ACTIVE_FOR},
    {"state": "archived", "since": NOW - 3 * HOUR, "until": NOW - 150 * timedelta(minutes=1)},
    {"until": (NOW - 10 * HOUR).replace(minute=0, second=0)},
    {"trigger": 0},
    {"trigger": 1, "source": "api"},
    {"source": "test", "since": NOW - 47 * HOUR},
]


@pytest.mark.parametrize("how", ["insert", "batch", "copy"])
def test_aggregates_from_hourly_counts_equal_counting_every_log(db: Database, database_url: str, how: str) -> None:
    tenant = uuid.uuid4()
    logs = random_logs(tenant, 600, seed=len(how))
    if how == "insert":
        for log in logs:
            store(db).insert(log)
    elif how == "batch":
        LogPartitions(db).ensure([log.fired_at for log in logs])
        with db.cursor() as cur:
            insert_in_one_statement(cur, logs)
    else:
        copy_logs(database_url, logs)
    with db.cursor() as cur:
        for chosen in SELECTIONS:
            trigger = TRIGGERS[chosen["trigger"]] if "trigger" in chosen else None
            read = window(NOW, chosen.get("state"), chosen.get("since"), chosen.get("until"))  # type: ignore[arg-type]
            selection = Selection(read, trigger, chosen.get("source"))  # type: ignore[arg-type]
            expected = counted_one_by_one(cur, tenant, selection, NOW - ACTIVE_FOR)
            assert set(store(db).aggregate(tenant, selection, NOW - ACTIVE_FOR)) == expected, chosen
            assert expected  # every selection above sees some logs


def test_concurrent_writers_of_the_same_hours_count_every_log(db: Database, database_url: str) -> None:
    tenant = uuid.uuid4()
    logs = random_logs(tenant, 400, seed=7)
    LogPartitions(db).ensure([log.fired_at for log in logs])

    def write(each: Database) -> None:
        mine = logs[:]
        random.Random(id(each)).shuffle(mine)  # every writer meets the same hours in another order
        for start in range(0, len(mine), 50):
            with each.cursor() as cur:
                insert_in_one_statement(cur, mine[start : start + 50])

    concurrently(6, database_url, write)
    everything = Selection(window(NOW, None, None, None))
    with db.cursor() as cur:
        expected = counted_one_by_one(cur, tenant, everything, NOW - ACTIVE_FOR)
        assert sum(row.total for row in expected) == 6 * sum(log.fired_at > NOW - RETAINED_FOR for log in logs)
    assert set(store(db).aggregate(tenant, everything, NOW - ACTIVE_FOR)) == expected


def test_retention_drops_the_counts_of_hours_past_48_hours(db: Database) -> None:
    tenant = uuid.uuid4()
    for age in (RETAINED_FOR + 3 * HOUR, RETAINED_FOR - HOUR):
        store(db).insert(EventLog(new_id(NOW - age), tenant, None, "api", "test", True, None, NOW - age, {}))

    def hours() -> list[datetime]:
        with db.cursor() as cur:
            cur.execute("SELECT hour FROM event_log_counts WHERE tenant_id = %s ORDER BY hour", (tenant,))
            return [row[0] for row in cur.fetchall()]

    assert len(hours()) == 2
    report = run_retention(store=PostgresRetentionStore(db, LogPartitions(db)), clock=ManualClock(NOW))
    assert report.log_counts_purged >= 1
    assert hours() == [(NOW - RETAINED_FOR + HOUR).replace(minute=0, second=0)]
