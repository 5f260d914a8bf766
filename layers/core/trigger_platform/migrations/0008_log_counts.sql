-- Hourly counts of event logs, so that an aggregate over 48 h reads about 50 rows per trigger
-- instead of every log. A row holds how many logs one (tenant, trigger, type, source) fired in one
-- hour and the first and last fired_at among them; an aggregate takes a row whole when both lie on
-- the same side of every bound it asks for, and counts the logs of the few hours where one does not.
--
-- Kept by a statement trigger on event_logs, in the inserting transaction, so every way in (the
-- fire paths' INSERTs, a COPY) counts exactly what commits. Rows are summed per statement and
-- written in key order, so concurrent batches lock them in one order.
CREATE TABLE event_log_counts (
    tenant_id      uuid NOT NULL,
    hour           timestamptz NOT NULL,
    trigger_id     uuid,
    trigger_type   text NOT NULL,
    source         text NOT NULL,
    logs           bigint NOT NULL,
    first_fired_at timestamptz NOT NULL,
    last_fired_at  timestamptz NOT NULL,
    -- The one index: the writers' key, and what reads scan without visiting the table (a tenant's
    -- hours). Its counts change with every log, so an update is never HOT; a second index would
    -- double that work, so retention finds old hours by a scan of this small table.
    CONSTRAINT event_log_counts_key UNIQUE NULLS NOT DISTINCT (tenant_id, hour, trigger_id, trigger_type, source)
        INCLUDE (logs, first_fired_at, last_fired_at)
);

CREATE FUNCTION count_event_logs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_log_counts AS c
        (tenant_id, hour, trigger_id, trigger_type, source, logs, first_fired_at, last_fired_at)
    SELECT tenant_id, date_trunc('hour', fired_at, 'UTC'), trigger_id, trigger_type, source,
           count(*), min(fired_at), max(fired_at)
      FROM new_logs
     GROUP BY 1, 2, 3, 4, 5
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT event_log_counts_key DO UPDATE
       SET logs = c.logs + EXCLUDED.logs,
           first_fired_at = least(c.first_fired_at, EXCLUDED.first_fired_at),
           last_fired_at = greatest(c.last_fired_at, EXCLUDED.last_fired_at);
    RETURN NULL;
END;
$$;

-- Writers wait while the counts of the logs already there are taken, then count their own.
LOCK TABLE event_logs IN SHARE MODE;

CREATE TRIGGER event_logs_counted
    AFTER INSERT ON event_logs REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT EXECUTE FUNCTION count_event_logs();

INSERT INTO event_log_counts (tenant_id, hour, trigger_id, trigger_type, source, logs, first_fired_at, last_fired_at)
SELECT tenant_id, date_trunc('hour', fired_at, 'UTC'), trigger_id, trigger_type, source,
       count(*), min(fired_at), max(fired_at)
  FROM event_logs
 GROUP BY 1, 2, 3, 4, 5;
