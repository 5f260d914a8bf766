"""LogStore over PostgreSQL: event logs in hourly partitions, the exactly-once record of scheduled
fires, and Idempotency-Key claims."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg2 import sql
from psycopg2.extras import Json

from trigger_platform.adapters.delivery_rows import stored_delivery
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database, as_columns, utf8_json
from trigger_platform.lifecycle import Selection, extent
from trigger_platform.records import (
    AggregateRow,
    ApiFireRecord,
    Crossing,
    DeliveryStatus,
    EarlierFire,
    EventLog,
    IdempotencyClaim,
    ScheduleProgress,
)

_LOG_COLUMNS = sql.SQL(
    "id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at, payload, status"
)


def _bounds(selection: Selection) -> list[tuple[str, datetime]]:
    """The window's bounds on fired_at, each an operator and a moment."""
    window = selection.window
    bounds = [(">", window.after), ("<=", window.not_after), (">=", window.since), ("<", window.until)]
    return [(operator, moment) for operator, moment in bounds if moment is not None]


def _where(tenant_id: UUID, selection: Selection) -> tuple[sql.Composable, list[Any]]:
    """The tenant, time-window and filter conditions, each a fixed fragment with its parameter."""
    clauses = [sql.SQL("tenant_id = %s")]
    params: list[Any] = [tenant_id]
    for operator, moment in _bounds(selection):
        clauses.append(sql.SQL(f"fired_at {operator} %s"))
        params.append(moment)
    for fragment, value in (("trigger_id = %s", selection.trigger_id), ("source = %s", selection.source)):
        if value is not None:
            clauses.append(sql.SQL(fragment))
            params.append(value)
    return sql.SQL(" AND ").join(clauses), params


_AGGREGATE = """
WITH edge_hours AS (
    SELECT hour, trigger_id, trigger_type, source, logs, last_fired_at,
           {whole} AS whole, {outside} AS outside, first_fired_at > %(active_after)s AS active
      FROM event_log_counts
     WHERE tenant_id = %(tenant)s AND hour = ANY(%(edges)s::timestamptz[]) {filters}
), recounted AS (
    SELECT DISTINCT hour FROM edge_hours WHERE NOT whole AND NOT outside
)
SELECT trigger_id, trigger_type, source, sum(active)::bigint, sum(total)::bigint, max(last_fired_at)
  FROM (
        SELECT trigger_id, trigger_type, source, CASE WHEN hour > %(active_after)s THEN logs ELSE 0 END AS active,
               logs AS total, last_fired_at
          FROM event_log_counts
         WHERE tenant_id = %(tenant)s AND hour > %(first_hour)s AND hour < %(last_hour)s
           AND hour <> ALL(%(edges)s::timestamptz[]) {filters}
        UNION ALL
        SELECT trigger_id, trigger_type, source, CASE WHEN active THEN logs ELSE 0 END, logs, last_fired_at
          FROM edge_hours
         WHERE whole AND hour NOT IN (SELECT hour FROM recounted)
        {recounts}
       ) parts
 GROUP BY 1, 2, 3
"""
"""Counts of the selected logs per (trigger, source). Only an hour that holds a bound of the window
or the active boundary (an edge) can hold logs on both sides of one: the others are taken whole
from the hourly counts, and so is an edge hour where every trigger's logs lie on one side of every
bound (their first and last fired_at say so). The logs of the other edge hours are counted one by
one, each hour's with its bounds written out, so the planner reads one partition for it."""

_RECOUNT = """
        UNION ALL
        SELECT trigger_id, trigger_type, source, count(*) FILTER (WHERE fired_at > %(active_after)s), count(*),
               max(fired_at)
          FROM event_logs
         WHERE {where} AND fired_at >= {start} AND fired_at < {end}
           AND EXISTS (SELECT 1 FROM recounted WHERE hour = {start})
         GROUP BY 1, 2, 3
"""


def _aggregate_query(
    tenant_id: UUID, selection: Selection, active_after: datetime
) -> tuple[sql.Composable, dict[str, Any]]:
    lowest, highest = extent(selection.window)
    first_hour, last_hour = _hour(lowest), _hour(highest or _LAST_MOMENT)
    edges = sorted(
        hour
        for hour in {_hour(moment) for _, moment in _bounds(selection)} | {_hour(active_after)}
        if first_hour <= hour <= last_hour
    )
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "active_after": active_after,
        "edges": edges,
        "first_hour": first_hour,
        "last_hour": last_hour,
    }
    whole: list[sql.Composable] = []
    outside: list[sql.Composable] = []
    where: list[sql.Composable] = [sql.SQL("tenant_id = %(tenant)s")]
    for number, (operator, moment) in enumerate(_bounds(selection)):
        bound = sql.Placeholder(f"bound{number}")
        params[f"bound{number}"] = moment
        # Every log of an hour is in when its log nearest the bound is; none is when the farthest is out.
        lower = operator.startswith(">")
        nearest, farthest = ("first", "last") if lower else ("last", "first")
        whole.append(sql.SQL(f"{nearest}_fired_at {operator} ") + bound)
        outside.append(sql.SQL(f"NOT {farthest}_fired_at {operator} ") + bound)
        where.append(sql.SQL(f"fired_at {operator} ") + bound)
    whole.append(sql.SQL("(first_fired_at > %(active_after)s OR last_fired_at <= %(active_after)s)"))
    filters: list[sql.Composable] = []
    for column, value in (("trigger_id", selection.trigger_id), ("source", selection.source)):
        if value is not None:
            params[column] = value
            filters.append(sql.SQL(f" AND {column} = %({column})s"))
            where.append(sql.SQL(f"{column} = %({column})s"))
    recounts = sql.SQL("").join(
        sql.SQL(_RECOUNT).format(
            where=sql.SQL(" AND ").join(where), start=sql.Literal(hour), end=sql.Literal(hour + timedelta(hours=1))
        )
        for hour in edges
    )
    query = sql.SQL(_AGGREGATE).format(
        whole=sql.SQL(" AND ").join(whole),
        outside=sql.SQL(" OR ").join(outside) if outside else sql.SQL("false"),
        filters=sql.SQL("").join(filters),
        recounts=recounts,
    )
    return query, params


_LAST_MOMENT = datetime.max.replace(tzinfo=UTC)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _log(row: tuple[Any, ...]) -> EventLog:
    """A log from a row of ``_LOG_COLUMNS`` followed by its delivery's status, attempt count, next
    attempt time and attempts (all null when it has none)."""
    log_id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at, payload, status, *rest = row
    delivery = stored_delivery(*rest)
    return EventLog(
        log_id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at, payload, status, delivery
    )


_API_FIRE = """
INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test, fired_at, payload)
SELECT %(id)s, %(tenant_id)s, %(trigger_id)s, %(trigger_type)s, %(source)s, false, %(fired_at)s, %(payload)s
  FROM triggers WHERE tenant_id = %(tenant_id)s AND id = %(trigger_id)s AND version = %(version)s
"""
"""An api fire without an Idempotency-Key: the log, while the trigger is at the version read."""

_KEYED_API_FIRE = """
WITH current_trigger AS (
    SELECT 1 FROM triggers WHERE tenant_id = %(tenant_id)s AND id = %(trigger_id)s AND version = %(version)s
), claimed AS (
    INSERT INTO idempotency_keys (tenant_id, key, request_hash, log_id, created_at)
    SELECT %(tenant_id)s, %(key)s, %(request_hash)s, %(id)s, %(fired_at)s FROM current_trigger
    ON CONFLICT (tenant_id, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, log_id = EXCLUDED.log_id, created_at = EXCLUDED.created_at
     WHERE idempotency_keys.created_at <= %(expired_at)s
    RETURNING log_id
), logged AS (
    INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test, fired_at, payload)
    SELECT %(id)s, %(tenant_id)s, %(trigger_id)s, %(trigger_type)s, %(source)s, false, %(fired_at)s, %(payload)s
      FROM claimed
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM current_trigger), EXISTS (SELECT 1 FROM logged),
       earlier.request_hash, earlier.log_id, earlier.created_at
  FROM (VALUES (1)) AS one
  LEFT JOIN idempotency_keys earlier ON earlier.tenant_id = %(tenant_id)s AND earlier.key = %(key)s
"""
"""An api fire with an Idempotency-Key, in one round trip as well. ``earlier`` is read from the
statement's snapshot: the key's claim as it was before this statement, if any."""


class PostgresLogStore:
    def __init__(self, db: Database, partitions: LogPartitions) -> None:
        self._db = db
        self._partitions = partitions

    def insert(self, log: EventLog) -> None:
        self._partitions.ensure([log.fired_at])
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test,
                                        scheduled_for, fired_at, payload, status)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                (
                    log.id,
                    log.tenant_id,
                    log.trigger_id,
                    log.trigger_type,
                    log.source,
                    log.is_test,
                    log.scheduled_for,
                    log.fired_at,
                    Json(log.payload, dumps=utf8_json),
                    log.status,
                ),
            )

    def record_scheduled_fires(self, fired: list[tuple[EventLog, ScheduleProgress]]) -> set[UUID]:
        """One statement: claim each (trigger, scheduled time), insert the logs whose claim was new,
        and move each of their triggers on to the progress of its latest due time (the triggers
        table is written here, not by the trigger store, so that all of it is one round trip)."""
        if not fired:
            return set()
        logs = [log for log, _ in fired]
        progress = [step for _, step in fired]
        self._partitions.ensure([log.fired_at for log in logs])
        columns = (
            *as_columns(logs, "id", "tenant_id", "trigger_id", "trigger_type", "source", "scheduled_for", "fired_at"),
            [utf8_json(log.payload) for log in logs],
            *as_columns(progress, "armed_version", "status", "next_fire_at"),
        )
        with self._db.cursor() as cur:
            cur.execute(
                """
                WITH fired AS (
                    SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::text[], %s::text[],
                                         %s::timestamptz[], %s::timestamptz[], %s::jsonb[],
                                         %s::int[], %s::text[], %s::timestamptz[])
                        AS f (id, tenant_id, trigger_id, trigger_type, source, scheduled_for, fired_at, payload,
                              armed_version, status, next_fire_at)
                ), claimed AS (
                    INSERT INTO scheduled_fires (trigger_id, scheduled_for, log_id, fired_at)
                    SELECT trigger_id, scheduled_for, id, fired_at FROM fired
                    ON CONFLICT (trigger_id, scheduled_for) DO NOTHING
                    RETURNING log_id
                ), moved AS (
                    UPDATE triggers t SET status = latest.status, next_fire_at = latest.next_fire_at
                      FROM (SELECT DISTINCT ON (f.trigger_id) f.*
                              FROM fired f JOIN claimed c ON c.log_id = f.id
                             ORDER BY f.trigger_id, f.scheduled_for DESC) latest
                     WHERE t.tenant_id = latest.tenant_id AND t.id = latest.trigger_id
                       AND t.armed_version = latest.armed_version
                )
                INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test,
                                        scheduled_for, fired_at, payload)
                SELECT f.id, f.tenant_id, f.trigger_id, f.trigger_type, f.source, false,
                       f.scheduled_for, f.fired_at, f.payload
                  FROM fired f JOIN claimed c ON c.log_id = f.id
                RETURNING id
                """,
                columns,
            )
            return {row[0] for row in cur.fetchall()}

    def record_api_fire(self, log: EventLog, trigger_version: int, claim: IdempotencyClaim | None) -> ApiFireRecord:
        """One statement: the log (and the key's claim) written only while the trigger is at the
        version the caller read it at. A claim that loses a race with a concurrent one waits for it
        to commit and then reads that claim in a second statement."""
        self._partitions.ensure([log.fired_at])
        params = {
            "id": log.id,
            "tenant_id": log.tenant_id,
            "trigger_id": log.trigger_id,
            "version": trigger_version,
            "trigger_type": log.trigger_type,
            "source": log.source,
            "fired_at": log.fired_at,
            "payload": Json(log.payload, dumps=utf8_json),
        }
        with self._db.cursor() as cur:
            if claim is None:
                cur.execute(_API_FIRE, params)
                return "logged" if cur.rowcount else "stale"
            cur.execute(
                _KEYED_API_FIRE,
                params | {"key": claim.key, "request_hash": claim.request_hash, "expired_at": claim.expired_at},
            )
            ((current, logged, earlier_hash, earlier_log, earlier_at),) = cur.fetchall()  # always one row
            if not current:
                return "stale"
            if logged:
                return "logged"
            if earlier_hash is None or earlier_at <= claim.expired_at:  # claimed concurrently after our snapshot
                cur.execute(
                    "SELECT request_hash, log_id, created_at FROM idempotency_keys WHERE tenant_id = %s AND key = %s",
                    (log.tenant_id, claim.key),
                )
                row = cur.fetchone()
                if row is None or row[2] <= claim.expired_at:  # expired and swept in between: claim again
                    return self.record_api_fire(log, trigger_version, claim)
                earlier_hash, earlier_log = row[0], row[1]
        return EarlierFire(bytes(earlier_hash), earlier_log)

    def get(self, tenant_id: UUID, log_id: UUID, fired_not_before: datetime) -> EventLog | None:
        """One log, found by id within the partitions its UUIDv7 timestamp points to."""
        stamped = datetime.fromtimestamp((log_id.int >> 80) / 1000, tz=fired_not_before.tzinfo)
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT l.id, l.tenant_id, l.trigger_id, l.trigger_type, l.source, l.is_test, l.scheduled_for,
                       l.fired_at, l.payload, l.status,
                       d.status, jsonb_array_length(d.attempts), d.next_attempt_at, d.attempts
                  FROM event_logs l LEFT JOIN deliveries d ON d.log_id = l.id
                 WHERE l.tenant_id = %s AND l.id = %s
                   AND l.fired_at >= %s AND l.fired_at >= %s AND l.fired_at < %s
                """,
                (
                    tenant_id,
                    log_id,
                    fired_not_before,
                    stamped - timedelta(seconds=1),
                    stamped + timedelta(seconds=1),
                ),
            )
            row = cur.fetchone()
        return _log(row) if row else None

    def list_page(
        self,
        tenant_id: UUID,
        selection: Selection,
        before: tuple[datetime, UUID] | None,
        limit: int,
        delivery: DeliveryStatus | None = None,
    ) -> list[EventLog]:
        where, params = _where(tenant_id, selection)
        if before is not None:
            # The redundant bound on fired_at alone lets the planner prune the partitions above
            # the cursor, so a deep page costs what the first one does.
            where = sql.SQL("{} AND fired_at <= %s AND (fired_at, id) < (%s, %s)").format(where)
            params += [before[0], *before]
        if delivery == "none":
            where = sql.SQL("{} AND id NOT IN (SELECT log_id FROM deliveries WHERE tenant_id = %s)").format(where)
            params.append(tenant_id)
        elif delivery is not None:
            where = sql.SQL("{} AND id IN (SELECT log_id FROM deliveries WHERE tenant_id = %s AND status = %s)").format(
                where
            )
            params += [tenant_id, delivery]
        # The page is chosen from event_logs alone (its plan as before); its deliveries are then
        # looked up by primary key, in brief.
        query = sql.SQL(
            """
            SELECT l.*, d.status, jsonb_array_length(d.attempts), d.next_attempt_at, NULL
              FROM (SELECT {} FROM event_logs WHERE {} ORDER BY fired_at DESC, id DESC LIMIT %s) l
              LEFT JOIN deliveries d ON d.log_id = l.id
             ORDER BY l.fired_at DESC, l.id DESC
            """
        ).format(_LOG_COLUMNS, where)
        with self._db.cursor() as cur:
            cur.execute(query, [*params, limit])
            return [_log(row) for row in cur.fetchall()]

    def oldest_fired_at(self, tenant_id: UUID, selection: Selection) -> datetime | None:
        where, params = _where(tenant_id, selection)
        with self._db.cursor() as cur:
            cur.execute(sql.SQL("SELECT min(fired_at) FROM event_logs WHERE {}").format(where), params)
            row = cur.fetchone()
        return row[0] if row else None

    def aggregate(self, tenant_id: UUID, selection: Selection, active_after: datetime) -> list[AggregateRow]:
        query, params = _aggregate_query(tenant_id, selection, active_after)
        with self._db.cursor() as cur:
            cur.execute(query, params)
            return [AggregateRow(*row) for row in cur.fetchall()]

    def crossings(
        self, tenant_id: UUID, selection: Selection, ranges: list[tuple[datetime, datetime]], limit: int
    ) -> list[list[Crossing]]:
        if not ranges:
            return []
        where, params = _where(tenant_id, selection)
        one_range = sql.SQL(
            """
            (SELECT l.fired_at, l.trigger_id, l.trigger_type, l.source, coalesce(d.status, 'none'), {number}
               FROM (SELECT id, fired_at, trigger_id, trigger_type, source FROM event_logs
                      WHERE {where} AND fired_at > %s AND fired_at <= %s
                      ORDER BY fired_at LIMIT %s) l
               LEFT JOIN deliveries d ON d.log_id = l.id)
            """
        )
        query = sql.SQL(" UNION ALL ").join(
            one_range.format(number=sql.Literal(number), where=where) for number in range(len(ranges))
        )
        found: list[list[Crossing]] = [[] for _ in ranges]
        with self._db.cursor() as cur:
            cur.execute(query, [value for after, not_after in ranges for value in (*params, after, not_after, limit)])
            for *fields, number in cur.fetchall():
                found[number].append(Crossing(*fields))
        return [sorted(in_range, key=lambda crossing: crossing.fired_at) for in_range in found]
