-- DigitalPost schema, version 022: replies (besvarelser) linked to the letters they answer.
--
-- A reply is a message of its own (its message grain delivers it to the authority); this table only links it to the
-- letter it answers, so the letter shows its replies whichever lane delivered it. A reply is linked once.
CREATE TABLE IF NOT EXISTS message_reply
(
    reply_uuid     uuid        PRIMARY KEY,
    original_uuid  uuid        NOT NULL,
    received_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS message_reply_original ON message_reply (original_uuid, received_at);
