"""TriggerStore over PostgreSQL: parametrised SQL, every statement scoped by tenant."""

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import Json

from trigger_platform.adapters.postgres import Database, utf8_json
from trigger_platform.records import TenantUsage, Trigger, definition_document, stored_definition

_COLUMNS = (
    "id, tenant_id, definition, status, version, next_fire_at, armed_at, armed_version, created_at, updated_at,"
    " signing_secret, previous_signing_secret, previous_secret_expires_at"
)
# Whole statements, built once from constants: composing them per call costs a read a third of its SQL.
_SELECT = "SELECT " + _COLUMNS + " FROM triggers WHERE "  # noqa: S608 - constants only  # nosec B608
_GET = _SELECT + "tenant_id = %s AND id = %s"
_GET_MANY = _SELECT + "(tenant_id, id) IN (SELECT * FROM unnest(%s::uuid[], %s::uuid[]))"  # noqa: S608  # nosec B608
_FIRST_PAGE = _SELECT + "tenant_id = %s ORDER BY id LIMIT %s"
_NEXT_PAGE = _SELECT + "tenant_id = %s AND id > %s ORDER BY id LIMIT %s"
_REPLACE = (
    "UPDATE triggers SET type = %s, definition = %s, enabled = %s, status = %s, next_fire_at = %s, "  # noqa: S608  # nosec B608
    "armed_at = %s, armed_version = %s, updated_at = %s, version = version + 1, "
    "signing_secret = %s, previous_signing_secret = %s, previous_secret_expires_at = %s "
    "WHERE tenant_id = %s AND id = %s AND version = %s RETURNING " + _COLUMNS
)
_ROTATE_SECRET = (
    "UPDATE triggers SET previous_signing_secret = signing_secret, previous_secret_expires_at = %s, "  # noqa: S608  # nosec B608
    "signing_secret = %s WHERE tenant_id = %s AND id = %s AND signing_secret IS NOT NULL RETURNING " + _COLUMNS
)
_LIVE_SCHEDULED = _SELECT + "type = 'scheduled' AND status = 'active'"


def trigger_columns(alias: str) -> str:
    """The columns a trigger is read from, for a statement that reads it beside another table's."""
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


def trigger_from_row(row: tuple[Any, ...]) -> Trigger:
    """A trigger from a row of ``trigger_columns`` (the record's fields, in its order)."""
    trigger_id, tenant_id, document, *rest = row
    return Trigger(trigger_id, tenant_id, stored_definition(document), *rest)


def _definition_json(trigger: Trigger) -> Json:
    return Json(definition_document(trigger.definition), dumps=utf8_json)


class PostgresTriggerStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, trigger: Trigger) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO triggers (id, tenant_id, type, definition, enabled, status, version,
                                      next_fire_at, armed_at, armed_version, created_at, updated_at, signing_secret)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
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
                    trigger.armed_at,
                    trigger.armed_version,
                    trigger.created_at,
                    trigger.updated_at,
                    trigger.signing_secret,
                ),
            )

    def usage(self, tenant_id: UUID) -> TenantUsage:
        with self._db.cursor() as cur:
            cur.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", (tenant_id,))
            # A statement of its own, so that in READ COMMITTED it sees what the lock waited for.
            cur.execute(
                """
                SELECT count(*),
                       count(*) FILTER (WHERE enabled AND status = 'active' AND type = 'scheduled'
                                          AND (definition->'schedule' ? 'cron'
                                               OR coalesce((definition->'schedule'->>'is_recurring')::boolean, false)))
                  FROM triggers
                 WHERE tenant_id = %s
                """,
                (tenant_id,),
            )
            triggers, enabled_recurring = cur.fetchone() or (0, 0)
        return TenantUsage(int(triggers), int(enabled_recurring))

    def _select(self, query: str, params: tuple[Any, ...]) -> list[Trigger]:
        with self._db.cursor() as cur:
            cur.execute(query, params)
            return [trigger_from_row(row) for row in cur.fetchall()]

    def get(self, tenant_id: UUID, trigger_id: UUID) -> Trigger | None:
        found = self._select(_GET, (tenant_id, trigger_id))
        return found[0] if found else None

    def get_many(self, keys: list[tuple[UUID, UUID]]) -> dict[UUID, Trigger]:
        if not keys:
            return {}
        tenants, ids = zip(*keys, strict=True)
        found = self._select(_GET_MANY, (list(tenants), list(ids)))
        return {trigger.id: trigger for trigger in found}

    def list_after(self, tenant_id: UUID, after: UUID | None, limit: int) -> list[Trigger]:
        if after is None:
            return self._select(_FIRST_PAGE, (tenant_id, limit))
        return self._select(_NEXT_PAGE, (tenant_id, after, limit))

    def replace(self, trigger: Trigger, expected_version: int) -> Trigger | None:
        with self._db.cursor() as cur:
            cur.execute(
                _REPLACE,
                (
                    trigger.definition.type,
                    _definition_json(trigger),
                    trigger.definition.enabled,
                    trigger.status,
                    trigger.next_fire_at,
                    trigger.armed_at,
                    trigger.armed_version,
                    trigger.updated_at,
                    trigger.signing_secret,
                    trigger.previous_signing_secret,
                    trigger.previous_secret_expires_at,
                    trigger.tenant_id,
                    trigger.id,
                    expected_version,
                ),
            )
            row = cur.fetchone()
        return trigger_from_row(row) if row else None

    def live_scheduled(self) -> list[Trigger]:
        return self._select(_LIVE_SCHEDULED, ())

    def rotate_secret(
        self, tenant_id: UUID, trigger_id: UUID, secret: str, previous_expires_at: datetime
    ) -> Trigger | None:
        with self._db.cursor() as cur:
            cur.execute(_ROTATE_SECRET, (previous_expires_at, secret, tenant_id, trigger_id))
            row = cur.fetchone()
        return trigger_from_row(row) if row else None

    def delete(self, tenant_id: UUID, trigger_id: UUID) -> bool:
        with self._db.cursor() as cur:
            cur.execute("DELETE FROM triggers WHERE tenant_id = %s AND id = %s", (tenant_id, trigger_id))
            return bool(cur.rowcount)
