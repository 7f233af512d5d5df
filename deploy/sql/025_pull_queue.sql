-- DigitalPost schema, version 025: the queues of receiver systems registered as NgDP's REST_PULL.
--
-- One row per message made available to a pull system (system_key is cvr/systemId): its message grain's attempt, or a
-- merge batch's letter in bulk. The system lists its waiting messages oldest first (seq), fetches each as MeMo XML
-- (GET /apis/v1/memos/{id}) and removes it with its receipt or a DELETE. Making a message available again (a retry,
-- a forward to another pull system) replaces its row with a new seq, so a message waits in one queue, once.
CREATE SEQUENCE IF NOT EXISTS pull_queue_seq;
CREATE TABLE IF NOT EXISTS pull_queue
(
    message_uuid uuid        NOT NULL PRIMARY KEY,
    system_key   text        NOT NULL,
    seq          bigint      NOT NULL DEFAULT nextval('pull_queue_seq'),
    available_at timestamptz NOT NULL,
    -- The platform's JSON of the message; its stored documents stay in the document store, referenced.
    message      bytea       NOT NULL
);
CREATE INDEX IF NOT EXISTS pull_queue_system ON pull_queue (system_key, seq);
