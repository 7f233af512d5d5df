-- DigitalPost schema, version 023: messages sent one at a time, indexed for retention and erasure.
--
-- A message sent on its own (POST /api/messages, or a MeMo on the NgDP face) lives in its message grain's state,
-- keyed by its UUID alone: nothing finds the messages of a sender past its retention period, or those to one
-- recipient. A row here, written as the message is accepted, does. The accepting time is the platform's clock.
CREATE TABLE IF NOT EXISTS single_message
(
    message_uuid uuid        PRIMARY KEY,
    sender_id    text        COLLATE "C" NOT NULL,
    -- Personal data (a CPR number for a citizen): never logged.
    recipient_id text        COLLATE "C" NOT NULL,
    accepted_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS single_message_sender ON single_message (sender_id, accepted_at);
CREATE INDEX IF NOT EXISTS single_message_recipient ON single_message (recipient_id);
