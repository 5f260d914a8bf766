-- Event logs: one row per firing, partitioned by hour of fired_at so that expiry drops whole
-- partitions instead of deleting rows. Partitions are created ahead by the retention cron and on
-- demand by writers (ensure_event_log_partition), so an insert never lacks one.
CREATE TABLE event_logs (
    id            uuid NOT NULL,          -- UUIDv7 whose timestamp is fired_at (to the millisecond)
    tenant_id     uuid NOT NULL,
    trigger_id    uuid,                   -- null for a test of an unsaved definition
    trigger_type  text NOT NULL CHECK (trigger_type IN ('scheduled', 'api')),
    source        text NOT NULL CHECK (source IN ('scheduled', 'api', 'test')),
    is_test       boolean NOT NULL DEFAULT false,
    scheduled_for timestamptz,
    fired_at      timestamptz NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'success',
    PRIMARY KEY (id, fired_at)
) PARTITION BY RANGE (fired_at);

CREATE INDEX event_logs_tenant_recent_idx ON event_logs (tenant_id, fired_at DESC, id DESC);
CREATE INDEX event_logs_tenant_trigger_recent_idx ON event_logs (tenant_id, trigger_id, fired_at DESC, id DESC);

CREATE FUNCTION ensure_event_log_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lower_bound timestamptz := date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    name text := 'event_logs_p' || to_char(lower_bound AT TIME ZONE 'UTC', 'YYYYMMDDHH24');
BEGIN
    IF to_regclass(name) IS NULL THEN
        BEGIN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF event_logs FOR VALUES FROM (%L) TO (%L)',
                name, lower_bound, lower_bound + interval '1 hour'
            );
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;  -- another writer created it first
        END;
    END IF;
    RETURN name;
END;
$$;

-- Exactly one log per trigger and scheduled time, however often Scheduler delivers the event.
-- (A unique index on the partitioned log table would have to include fired_at, which differs
-- between deliveries; this small table holds the rule instead.)
CREATE TABLE scheduled_fires (
    trigger_id    uuid NOT NULL,
    scheduled_for timestamptz NOT NULL,
    log_id        uuid NOT NULL,
    fired_at      timestamptz NOT NULL,
    PRIMARY KEY (trigger_id, scheduled_for)
);
CREATE INDEX scheduled_fires_fired_at_idx ON scheduled_fires (fired_at);

-- Idempotency-Key of POST /triggers/{id}/fire: a retried call returns the first call's log.
CREATE TABLE idempotency_keys (
    tenant_id    uuid NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    log_id       uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
