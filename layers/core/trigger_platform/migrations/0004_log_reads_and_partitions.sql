-- Aggregates read only (tenant_id, fired_at, trigger_id, trigger_type, source): an index that
-- covers them turns a heap scan of the tenant's rows into an index-only scan.
CREATE INDEX event_logs_tenant_aggregate_idx
    ON event_logs (tenant_id, fired_at) INCLUDE (trigger_id, trigger_type, source);

-- Partitions are made as standalone tables and then attached: ATTACH PARTITION needs only a SHARE
-- UPDATE EXCLUSIVE lock on event_logs, where CREATE TABLE … PARTITION OF needs ACCESS EXCLUSIVE and
-- so queues every insert and read behind the longest query in flight.
CREATE OR REPLACE FUNCTION ensure_event_log_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lower_bound timestamptz := date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    name text := 'event_logs_p' || to_char(lower_bound AT TIME ZONE 'UTC', 'YYYYMMDDHH24');
BEGIN
    IF to_regclass(name) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE TABLE %I (LIKE event_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE format(
                'ALTER TABLE event_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                name, lower_bound, lower_bound + interval '1 hour'
            );
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;  -- another writer created it first
        END;
    END IF;
    RETURN name;
END;
$$;
