-- Delivery of fires to the customers' endpoints. A trigger with a target keeps its Standard
-- Webhooks signing secret (and, for 24 h after a rotation, the one it replaced).
ALTER TABLE triggers
    ADD COLUMN signing_secret             text,
    ADD COLUMN previous_signing_secret    text,
    ADD COLUMN previous_secret_expires_at timestamptz;

-- The outbox: one row per log of a trigger with a target, written in the fire's transaction, so a
-- crash between logging and sending loses nothing. It is also the delivery's state: its attempts,
-- when it is tried next, and the lease of an attempt in flight. The local runtime reads due rows
-- from here as its queue; on AWS a message per row wakes the delivery function through SQS.
CREATE TABLE deliveries (
    log_id          uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    trigger_id      uuid NOT NULL,
    fired_at        timestamptz NOT NULL,   -- the log's, to find it in its partition
    url             text NOT NULL,          -- the target the trigger had when it fired
    host            text NOT NULL,          -- its host:port, which bounds how many attempts run at once
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        jsonb NOT NULL DEFAULT '[]',
    round_start     integer NOT NULL DEFAULT 0,  -- attempts before the current round (a redelivery starts one)
    next_attempt_at timestamptz,            -- null once delivered or failed
    lease           text,                   -- the receipt of the message whose attempt holds it
    lease_until     timestamptz
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_due_by_host_idx ON deliveries (host, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_tenant_fired_idx ON deliveries (tenant_id, fired_at);
