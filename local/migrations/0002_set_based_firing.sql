-- Set-based firing: a batch of due schedules is claimed, logged and advanced in one transaction,
-- so a delivery no longer waits in a table of its own; a fire that fails is retried with back-off.
ALTER TABLE local_schedules
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN not_before timestamptz;

-- Deliveries the old scheduler made due but had not settled become due schedules again (the
-- exactly-once record makes a second fire of one that did get logged a no-op).
UPDATE local_schedules s
   SET due_at = least(s.due_at, d.scheduled_for)
  FROM (SELECT trigger_id, min(scheduled_for) AS scheduled_for FROM local_deliveries GROUP BY trigger_id) d
 WHERE s.trigger_id = d.trigger_id;
INSERT INTO local_schedules (trigger_id, tenant_id, version, definition, defined_at, enabled, due_at)
SELECT DISTINCT ON (d.trigger_id) d.trigger_id, d.tenant_id, d.version, t.definition, t.armed_at, t.enabled,
       d.scheduled_for
  FROM local_deliveries d JOIN triggers t ON t.id = d.trigger_id
 WHERE NOT EXISTS (SELECT 1 FROM local_schedules s WHERE s.trigger_id = d.trigger_id)
 ORDER BY d.trigger_id, d.scheduled_for;
DROP TABLE local_deliveries;
