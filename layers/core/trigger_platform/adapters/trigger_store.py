"""TriggerStore over PostgreSQL: parametrised SQL, every statement scoped by tenant."""

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import Json

from trigger_platform.adapters.postgres import Database
from trigger_platform.models import Trigger, TriggerStatus
from trigger_platform.payloads import STORED


def _trigger(row: tuple[Any, ...]) -> Trigger:
    return Trigger.model_validate(
        {
            "id": row[0],
            "tenant_id": row[1],
            "definition": row[2],
            "status": row[3],
            "version": row[4],
            "next_fire_at": row[5],
            "created_at": row[6],
            "updated_at": row[7],
        },
        context={STORED: True},
    )


def _definition_json(trigger: Trigger) -> Json:
    return Json(trigger.definition.model_dump(mode="json"))


class PostgresTriggerStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def atomic(self) -> AbstractContextManager[None]:
        return self._db.atomic()

    def insert(self, trigger: Trigger) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO triggers (id, tenant_id, type, definition, enabled, status, version,
                                      next_fire_at, created_at, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                (
                    trigger.id,
                    trigger.tenant_id,
                    trigger.definition.type,
                    _definition_json(trigger),
                    trigger.definition.enabled,
                    trigger.status,
                    trigger.version,
                    trigger.next_fire_at,
                    trigger.created_at,
                    trigger.updated_at,
                ),
            )

    def get(self, tenant_id: UUID, trigger_id: UUID) -> Trigger | None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at
                  FROM triggers
                 WHERE tenant_id = %s AND id = %s
                """,
                (tenant_id, trigger_id),
            )
            row = cur.fetchone()
        return _trigger(row) if row else None

    def list_after(self, tenant_id: UUID, after: UUID | None, limit: int) -> list[Trigger]:
        with self._db.cursor() as cur:
            if after is None:
                cur.execute(
                    """
                    SELECT id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at
                      FROM triggers
                     WHERE tenant_id = %s
                     ORDER BY id
                     LIMIT %s
                    """,
                    (tenant_id, limit),
                )
            else:
                cur.execute(
                    """
                    SELECT id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at
                      FROM triggers
                     WHERE tenant_id = %s AND id > %s
                     ORDER BY id
                     LIMIT %s
                    """,
                    (tenant_id, after, limit),
                )
            return [_trigger(row) for row in cur.fetchall()]

    def replace(self, trigger: Trigger, expected_version: int | None) -> Trigger | None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                UPDATE triggers
                   SET type = %s, definition = %s, enabled = %s, status = %s, next_fire_at = %s,
                       updated_at = %s, version = version + 1
                 WHERE tenant_id = %s AND id = %s AND (%s::int IS NULL OR version = %s::int)
             RETURNING id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at
                """,
                (
                    trigger.definition.type,
                    _definition_json(trigger),
                    trigger.definition.enabled,
                    trigger.status,
                    trigger.next_fire_at,
                    trigger.updated_at,
                    trigger.tenant_id,
                    trigger.id,
                    expected_version,
                    expected_version,
                ),
            )
            row = cur.fetchone()
        return _trigger(row) if row else None

    def live_scheduled(self) -> list[Trigger]:
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at
                  FROM triggers
                 WHERE type = 'scheduled' AND status = 'active'
                """
            )
            return [_trigger(row) for row in cur.fetchall()]

    def record_fire(
        self, tenant_id: UUID, trigger_id: UUID, version: int, status: TriggerStatus, next_fire_at: datetime | None
    ) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                UPDATE triggers SET status = %s, next_fire_at = %s
                 WHERE tenant_id = %s AND id = %s AND version = %s
                """,
                (status, next_fire_at, tenant_id, trigger_id, version),
            )

    def delete(self, tenant_id: UUID, trigger_id: UUID) -> bool:
        with self._db.cursor() as cur:
            cur.execute("DELETE FROM triggers WHERE tenant_id = %s AND id = %s", (tenant_id, trigger_id))
            return bool(cur.rowcount)
