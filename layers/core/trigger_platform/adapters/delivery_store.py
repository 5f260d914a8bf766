"""DeliveryStore over PostgreSQL: the outbox of deliveries, their attempts and their leases.

Every write is one statement over the whole batch (``unnest``), so an invocation of the delivery
function costs a claim and a record whatever its batch size. A lease is the receipt of the message
whose attempt holds the row; claiming with the same receipt again is ours, so the local runtime's
queue (which leases rows as SQS hides messages) and the function agree on who holds what.
"""

import json
from datetime import datetime
from uuid import UUID

from psycopg2 import sql

from trigger_platform.adapters.delivery_rows import attempt_document, stored_delivery
from trigger_platform.adapters.log_store import _where
from trigger_platform.adapters.postgres import Database, as_columns
from trigger_platform.lifecycle import Selection
from trigger_platform.ports import AttemptRecord, ClaimedDelivery
from trigger_platform.records import Delivery, DeliveryJob, DeliveryStatus, EventLog, SigningSecrets


class PostgresDeliveryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, jobs: list[DeliveryJob]) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                INSERT INTO deliveries (log_id, tenant_id, trigger_id, fired_at, url, host, next_attempt_at)
                SELECT j.log_id, j.tenant_id, j.trigger_id, j.fired_at, j.url, j.host, j.fired_at
                  FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::timestamptz[], %s::text[], %s::text[])
                       AS j (log_id, tenant_id, trigger_id, fired_at, url, host)
                ON CONFLICT (log_id) DO NOTHING
                """,
                as_columns(jobs, "log_id", "tenant_id", "trigger_id", "fired_at", "url", "host"),
            )

    def claim(self, receipts: dict[UUID, str], now: datetime, lease_until: datetime) -> list[ClaimedDelivery]:
        with self._db.cursor() as cur:
            cur.execute(
                """
                WITH claimed AS (
                    UPDATE deliveries d SET lease = r.receipt, lease_until = %s
                      FROM unnest(%s::uuid[], %s::text[]) AS r (log_id, receipt)
                     WHERE d.log_id = r.log_id AND d.status = 'pending' AND d.next_attempt_at <= %s
                       AND (d.lease IS NULL OR d.lease_until <= %s OR d.lease = r.receipt)
                 RETURNING d.log_id, d.tenant_id, d.trigger_id, d.fired_at, d.url,
                           jsonb_array_length(d.attempts) - d.round_start AS in_round
                )
                SELECT c.log_id, c.tenant_id, c.url, c.in_round,
                       l.id, l.tenant_id, l.trigger_id, l.trigger_type, l.source, l.is_test, l.scheduled_for,
                       l.fired_at, l.payload, l.status,
                       t.signing_secret, t.previous_signing_secret, t.previous_secret_expires_at
                  FROM claimed c
                  LEFT JOIN event_logs l ON l.id = c.log_id AND l.fired_at = c.fired_at AND l.tenant_id = c.tenant_id
                  LEFT JOIN triggers t ON t.id = c.trigger_id AND t.tenant_id = c.tenant_id
                """,
                (lease_until, list(receipts), list(receipts.values()), now, now),
            )
            rows = cur.fetchall()
        claimed = []
        for log_id, tenant_id, url, in_round, *log_columns, secret, previous, previous_expires_at in rows:
            log = EventLog(*log_columns) if log_columns[0] is not None else None
            secrets = SigningSecrets(secret, previous, previous_expires_at) if secret else None
            claimed.append(ClaimedDelivery(log_id, tenant_id, url, in_round, log, secrets))
        return claimed

    def pending_until(self, log_ids: list[UUID]) -> dict[UUID, datetime]:
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT log_id, greatest(next_attempt_at, lease_until) FROM deliveries
                 WHERE log_id = ANY(%s::uuid[]) AND status = 'pending'
                """,
                (log_ids,),
            )
            return dict(cur.fetchall())

    def record(self, records: list[AttemptRecord]) -> None:
        attempts = [json.dumps(attempt_document(r.attempt)) if r.attempt else None for r in records]
        with self._db.cursor() as cur:
            cur.execute(
                """
                UPDATE deliveries d
                   SET status = r.status, next_attempt_at = r.next_attempt_at, lease = NULL, lease_until = NULL,
                       attempts = CASE WHEN r.attempt IS NULL THEN d.attempts
                                       ELSE d.attempts || jsonb_build_array(r.attempt) END
                  FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[], %s::jsonb[])
                       AS r (log_id, status, next_attempt_at, attempt)
                 WHERE d.log_id = r.log_id
                """,
                (*as_columns(records, "log_id", "status", "next_attempt_at"), attempts),
            )

    def redeliver(self, tenant_id: UUID, log_id: UUID, now: datetime) -> Delivery | None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                UPDATE deliveries
                   SET status = 'pending', next_attempt_at = %s, round_start = jsonb_array_length(attempts),
                       lease = NULL, lease_until = NULL
                 WHERE tenant_id = %s AND log_id = %s AND (lease_until IS NULL OR lease_until <= %s)
             RETURNING status, jsonb_array_length(attempts), next_attempt_at, attempts
                """,
                (now, tenant_id, log_id, now),
            )
            row = cur.fetchone()
        return stored_delivery(*row) if row else None

    def overdue(self, due_before: datetime, now: datetime, limit: int) -> list[UUID]:
        with self._db.cursor() as cur:
            cur.execute(
                """
                UPDATE deliveries SET next_attempt_at = %s
                 WHERE log_id IN (
                     SELECT log_id FROM deliveries
                      WHERE status = 'pending' AND next_attempt_at < %s AND (lease_until IS NULL OR lease_until <= %s)
                      ORDER BY next_attempt_at LIMIT %s
                        FOR UPDATE SKIP LOCKED)
             RETURNING log_id
                """,
                (now, due_before, now, limit),
            )
            return [row[0] for row in cur.fetchall()]

    def counts(self, tenant_id: UUID, selection: Selection) -> dict[DeliveryStatus, int]:
        where, params = _where(tenant_id, selection)
        with self._db.cursor() as cur:
            query = sql.SQL("SELECT status, count(*) FROM deliveries WHERE {} GROUP BY status").format(where)
            cur.execute(query, params)
            return {status: int(count) for status, count in cur.fetchall()}
