"""The local runtime's EventBridge Scheduler, over PostgreSQL: the Scheduler port the handlers use,
and the timer the scheduler loop drives.

A schedule row holds what a Scheduler schedule holds: what its Input says (the trigger, its tenant
and the armed version), the definition its due times follow, whether it is enabled, and when it is
due; a due row becomes the ``ScheduledFire`` Scheduler would deliver.
``claim_due`` hands out due rows with ``FOR UPDATE SKIP LOCKED``, so several runtimes on one
database never take the same row; the caller fires them and ``advance``s them in the same
transaction, so a crash fires nothing twice (the exactly-once record) and loses nothing (the rows
stay due). A fire that fails is retried with back-off, and given up (dead-lettered) after 24 hours.

Catch-up rule: a runtime that was down fires each schedule's missed due time once (the earliest
missed one, with its original scheduled time), then continues from the next due time after now.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg2.extras import Json

from trigger_platform.adapters.postgres import Database, utf8_json
from trigger_platform.adapters.trigger_store import trigger_columns, trigger_from_row
from trigger_platform.definitions import ScheduledDefinition
from trigger_platform.fire_input import ScheduledFire
from trigger_platform.records import Trigger, definition_document
from trigger_platform.schedules import next_fire_after


@dataclass(frozen=True)
class DueSchedule:
    trigger_id: UUID
    trigger: Trigger | None  # as it stands; None once deleted (its schedule goes with it)
    defined_at: datetime
    due_at: datetime
    attempts: int
    fire: ScheduledFire

    def following(self, now: datetime) -> datetime | None:
        """The due time after this one (None for a one-time schedule): the first after now. The
        trigger's schedule is this one: re-arming it replaces the row in the same transaction."""
        definition = self.trigger.definition if self.trigger else None
        if not isinstance(definition, ScheduledDefinition):
            return None
        return next_fire_after(definition.schedule, max(self.due_at, now), self.defined_at)


_CLAIM_DUE = (
    "SELECT s.trigger_id, s.tenant_id, s.version, s.defined_at, s.due_at, s.attempts, "  # noqa: S608  # nosec B608
    + trigger_columns("t")
    + """
      FROM local_schedules s LEFT JOIN triggers t ON t.tenant_id = s.tenant_id AND t.id = s.trigger_id
     WHERE s.enabled AND s.due_at <= %s AND (s.not_before IS NULL OR s.not_before <= %s)
     ORDER BY s.due_at
     LIMIT %s
       FOR UPDATE OF s SKIP LOCKED
    """
)


def _due(row: tuple[Any, ...]) -> DueSchedule:
    """A claimed row: the ScheduledFire Scheduler would deliver (what its Input says: the trigger, its
    tenant, the armed version), and the trigger as it stands."""
    trigger_id, tenant_id, version, defined_at, due_at, attempts, *trigger = row
    fire = ScheduledFire.model_construct(
        trigger_id=trigger_id, tenant_id=tenant_id, version=version, scheduled_time=due_at
    )
    return DueSchedule(
        trigger_id, trigger_from_row(tuple(trigger)) if trigger[0] else None, defined_at, due_at, attempts, fire
    )


@dataclass(frozen=True)
class RetryPolicy:
    """EventBridge's retry policy, locally: back off between attempts, give up when too old."""

    max_event_age: timedelta = timedelta(hours=24)

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(60.0, 0.5 * 2 ** min(attempts, 7)))


class LocalScheduler:
    def __init__(self, db: Database, retry: RetryPolicy | None = None) -> None:
        self._db = db
        self.retry = retry or RetryPolicy()

    # The Scheduler port ---------------------------------------------------------------------

    def create(self, trigger: Trigger) -> None:
        self.replace(trigger)

    def replace(self, trigger: Trigger) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO local_schedules (trigger_id, tenant_id, version, definition, defined_at, enabled,
                                             due_at, attempts, not_before)
                VALUES (%s, %s, %s, %s, %s, %s, %s, 0, NULL)
                ON CONFLICT (trigger_id) DO UPDATE
                   SET tenant_id = EXCLUDED.tenant_id, version = EXCLUDED.version,
                       definition = EXCLUDED.definition, defined_at = EXCLUDED.defined_at,
                       enabled = EXCLUDED.enabled, due_at = EXCLUDED.due_at,
                       attempts = 0, not_before = NULL
                """,
                (
                    trigger.id,
                    trigger.tenant_id,
                    trigger.armed_version,
                    Json(definition_document(trigger.definition), dumps=utf8_json),
                    trigger.armed_at,
                    trigger.definition.enabled,
                    trigger.next_fire_at,
                ),
            )

    def delete(self, trigger_id: UUID) -> None:
        with self._db.cursor() as cur:
            cur.execute("DELETE FROM local_schedules WHERE trigger_id = %s", (trigger_id,))

    def trigger_ids(self) -> set[UUID]:
        with self._db.cursor() as cur:
            cur.execute("SELECT trigger_id FROM local_schedules")
            return {row[0] for row in cur.fetchall()}

    # The timer ------------------------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int) -> list[DueSchedule]:
        """Lock up to ``limit`` schedules due at ``now``, earliest first, with their triggers as they
        stand (inside the caller's transaction: they stay locked until it ends)."""
        with self._db.cursor() as cur:
            cur.execute(_CLAIM_DUE, (now, now, limit))
            rows = cur.fetchall()
        return [_due(row) for row in rows]

    def advance(self, fired: list[DueSchedule], now: datetime) -> None:
        """Move fired schedules to their following due time; one-time ones are removed, as
        ``ActionAfterCompletion=DELETE`` removes them on AWS."""
        following = [(due.trigger_id, due.following(now)) for due in fired]
        done = [trigger_id for trigger_id, after in following if after is None]
        moving = [(trigger_id, after) for trigger_id, after in following if after is not None]
        with self._db.cursor() as cur:
            if done:
                cur.execute("DELETE FROM local_schedules WHERE trigger_id = ANY(%s::uuid[])", (done,))
            if moving:
                cur.execute(
                    """
                    UPDATE local_schedules s SET due_at = m.due_at, attempts = 0, not_before = NULL
                      FROM unnest(%s::uuid[], %s::timestamptz[]) AS m (trigger_id, due_at)
                     WHERE s.trigger_id = m.trigger_id
                    """,
                    ([trigger_id for trigger_id, _ in moving], [after for _, after in moving]),
                )

    def back_off(self, due: DueSchedule, now: datetime) -> bool:
        """A fire failed: try it again later; False when it is given up (dead letter) and the
        schedule moved on."""
        if now - due.due_at > self.retry.max_event_age:
            self.advance([due], now)
            return False
        with self._db.cursor() as cur:
            cur.execute(
                "UPDATE local_schedules SET attempts = attempts + 1, not_before = %s WHERE trigger_id = %s",
                (now + self.retry.backoff(due.attempts), due.trigger_id),
            )
        return True

    def next_due_at(self) -> datetime | None:
        """The earliest time any enabled schedule is due, to sleep until then."""
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT least(
                    (SELECT min(due_at) FROM local_schedules
                      WHERE enabled AND due_at IS NOT NULL AND not_before IS NULL),
                    (SELECT min(not_before) FROM local_schedules WHERE enabled AND not_before IS NOT NULL))
                """
            )
            row = cur.fetchone()
        return row[0] if row else None
