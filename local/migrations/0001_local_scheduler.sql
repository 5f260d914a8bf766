-- (Applied as the platform's migration 0003 by databases older than this set: hence IF NOT EXISTS.)
-- The local runtime's stand-in for EventBridge Scheduler (unused on AWS): one schedule per
-- scheduled trigger, and the deliveries it has made due, retried until they succeed or expire.
CREATE TABLE IF NOT EXISTS local_schedules (
    trigger_id uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    version    integer NOT NULL,
    definition jsonb NOT NULL,      -- the trigger's definition at this version
    defined_at timestamptz NOT NULL, -- when that version was written (interval schedules count from it)
    enabled    boolean NOT NULL,
    due_at     timestamptz          -- next due time; null once nothing is left to fire
);
CREATE INDEX IF NOT EXISTS local_schedules_due_idx ON local_schedules (due_at) WHERE enabled AND due_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS local_deliveries (
    trigger_id      uuid NOT NULL,
    scheduled_for   timestamptz NOT NULL,
    tenant_id       uuid NOT NULL,
    version         integer NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    PRIMARY KEY (trigger_id, scheduled_for)
);
CREATE INDEX IF NOT EXISTS local_deliveries_next_attempt_idx ON local_deliveries (next_attempt_at);
