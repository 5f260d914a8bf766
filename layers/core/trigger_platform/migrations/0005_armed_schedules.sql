-- When, and at which version, each trigger's current schedule was defined: intervals count from
-- armed_at, and schedules deliver armed_version, so an edit that keeps the schedule (a rename)
-- neither restarts an interval nor makes the schedule's deliveries stale.
ALTER TABLE triggers ADD COLUMN armed_at timestamptz, ADD COLUMN armed_version integer;
UPDATE triggers SET armed_at = updated_at, armed_version = version;
ALTER TABLE triggers ALTER COLUMN armed_at SET NOT NULL, ALTER COLUMN armed_version SET NOT NULL;
