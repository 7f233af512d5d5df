-- DigitalPost schema, version 005: the wake-up schedule (WakeUpSchedulerGrain, PostgresWakeUpStore).
--
-- The platform's wake-up schedule: one row per durable wake-up, in the shard of its target's id hash. Each shard's
-- scheduler grain reads only its next due rows, in due order, through the (service_id, shard, due) index, and
-- deletes them once they fired, so neither its idle cost nor its reads grow with the number of rows waiting.
-- The primary key makes scheduling idempotent: the same target and due time twice is one row.
CREATE TABLE IF NOT EXISTS digitalpost_wakeup
(
    service_id text        NOT NULL,
    shard      smallint    NOT NULL,
    due        timestamptz NOT NULL,
    target     text        NOT NULL,
    PRIMARY KEY (service_id, target, due)
);

CREATE INDEX IF NOT EXISTS digitalpost_wakeup_due ON digitalpost_wakeup (service_id, shard, due);
