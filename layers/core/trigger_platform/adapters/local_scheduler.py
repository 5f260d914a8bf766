"""The Scheduler port over PostgreSQL, for the local runtime: what EventBridge Scheduler does on AWS.

Two steps, both safe with several runtimes on one database (``FOR UPDATE SKIP LOCKED``):
``make_due`` turns due schedules into deliveries and advances the schedules; ``lease_deliveries``
hands deliveries out for a while, and ``settle`` removes a delivered one or backs it off. A crash
between the steps loses nothing: an unsettled delivery is handed out again when its lease ends.

Catch-up rule: a runtime that was down fires each schedule's missed due time once (the earliest
missed one, with its original scheduled time), then continues from the next due time after now.
"""

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg2.extras import Json
from pydantic import TypeAdapter

from trigger_platform.adapters.postgres import Database
from trigger_platform.models import AnyDefinition, ScheduledDefinition, Trigger
from trigger_platform.schedules import next_fire_after

_definition: TypeAdapter[AnyDefinition] = TypeAdapter(AnyDefinition)


@dataclass(frozen=True)
class Delivery:
    trigger_id: UUID
    tenant_id: UUID
    version: int
    scheduled_for: datetime
    attempts: int


@dataclass(frozen=True)
class RetryPolicy:
    """EventBridge's retry policy, locally: back off between attempts, give up when too old."""

    max_attempts: int = 185
    max_event_age: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=30)

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(60.0, 0.5 * 2 ** min(attempts, 7)))


class LocalScheduler:
    def __init__(self, db: Database, retry: RetryPolicy | None = None) -> None:
        self._db = db
        self.retry = retry or RetryPolicy()

    def atomic(self) -> AbstractContextManager[None]:
        return self._db.atomic()

    # The Scheduler port ---------------------------------------------------------------------

    def put(self, trigger: Trigger) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO local_schedules (trigger_id, tenant_id, version, definition, defined_at, enabled, due_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (trigger_id) DO UPDATE
                   SET tenant_id = EXCLUDED.tenant_id, version = EXCLUDED.version,
                       definition = EXCLUDED.definition, defined_at = EXCLUDED.defined_at,
                       enabled = EXCLUDED.enabled, due_at = EXCLUDED.due_at
                """,
                (
                    trigger.id,
                    trigger.tenant_id,
                    trigger.version,
                    Json(trigger.definition.model_dump(mode="json")),
                    trigger.updated_at,
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

    def make_due(self, now: datetime, limit: int = 1000) -> int:
        """Turn schedules due at ``now`` into deliveries and advance them; returns how many."""
        with self._db.transaction() as cur:
            cur.execute(
                """
                SELECT trigger_id, tenant_id, version, definition, defined_at, due_at
                  FROM local_schedules
                 WHERE enabled AND due_at IS NOT NULL AND due_at <= %s
                 ORDER BY due_at
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                (now, limit),
            )
            rows = cur.fetchall()
            for trigger_id, tenant_id, version, definition, defined_at, due_at in rows:
                cur.execute(
                    """
                    INSERT INTO local_deliveries (trigger_id, scheduled_for, tenant_id, version, next_attempt_at)
                    VALUES (%s, %s, %s, %s, %s)
                    ON CONFLICT DO NOTHING
                    """,
                    (trigger_id, due_at, tenant_id, version, now),
                )
                following = self._following(definition, defined_at, max(due_at, now))
                if following is None:  # one-time: removed after it fired, as ActionAfterCompletion=DELETE
                    cur.execute("DELETE FROM local_schedules WHERE trigger_id = %s", (trigger_id,))
                else:
                    cur.execute("UPDATE local_schedules SET due_at = %s WHERE trigger_id = %s", (following, trigger_id))
        return len(rows)

    @staticmethod
    def _following(definition: Any, defined_at: datetime, after: datetime) -> datetime | None:
        parsed = _definition.validate_python(definition)
        if not isinstance(parsed, ScheduledDefinition):
            return None
        return next_fire_after(parsed.schedule, after, defined_at)

    def next_due_at(self) -> datetime | None:
        """The earliest time anything is due (a schedule or a delivery), to sleep until then."""
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT least((SELECT min(due_at) FROM local_schedules WHERE enabled AND due_at IS NOT NULL),
                             (SELECT min(next_attempt_at) FROM local_deliveries))
                """
            )
            row = cur.fetchone()
        return row[0] if row else None

    def lease_deliveries(self, now: datetime, limit: int = 100) -> list[Delivery]:
        """Hand out deliveries whose attempt is due, hiding them from others for the lease."""
        with self._db.transaction() as cur:
            cur.execute(
                """
                UPDATE local_deliveries d
                   SET attempts = d.attempts + 1, next_attempt_at = %s
                  FROM (SELECT trigger_id, scheduled_for FROM local_deliveries
                         WHERE next_attempt_at <= %s
                         ORDER BY next_attempt_at
                         LIMIT %s
                           FOR UPDATE SKIP LOCKED) due
                 WHERE d.trigger_id = due.trigger_id AND d.scheduled_for = due.scheduled_for
             RETURNING d.trigger_id, d.tenant_id, d.version, d.scheduled_for, d.attempts
                """,
                (now + self.retry.lease, now, limit),
            )
            return sorted((Delivery(*row) for row in cur.fetchall()), key=lambda d: d.scheduled_for)

    def settle(self, delivery: Delivery, delivered: bool, now: datetime) -> bool:
        """Remove a delivered delivery, or back it off; False when it is given up (dead letter)."""
        expired = delivery.attempts > self.retry.max_attempts or now - delivery.scheduled_for > self.retry.max_event_age
        with self._db.cursor() as cur:
            if delivered or expired:
                cur.execute(
                    "DELETE FROM local_deliveries WHERE trigger_id = %s AND scheduled_for = %s",
                    (delivery.trigger_id, delivery.scheduled_for),
                )
            else:
                cur.execute(
                    "UPDATE local_deliveries SET next_attempt_at = %s WHERE trigger_id = %s AND scheduled_for = %s",
                    (now + self.retry.backoff(delivery.attempts), delivery.trigger_id, delivery.scheduled_for),
                )
        return delivered or not expired
