-- DigitalPost schema, version 018: NgDP receipts waiting for the sender systems that sent MeMo messages.
--
-- One row per message sent through the NgDP face (POST /apis/v1/memos/), keyed by its messageUUID: RECEIVED when it was
-- taken in, then COMPLETED (or with the delivery's error code) when its message grain reaches its final state. The
-- sender pages its receipts in the order they were taken in (seq) and deletes them once read.
CREATE TABLE IF NOT EXISTS ngdp_receipt
(
    message_uuid    uuid        NOT NULL PRIMARY KEY,
    seq             bigint      GENERATED ALWAYS AS IDENTITY,
    sender_id       text        NOT NULL,
    transmission_id uuid        NOT NULL,
    message_id      text,
    status          text        NOT NULL,
    error_code      text,
    error_message   text,
    time_stamp      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ngdp_receipt_sender ON ngdp_receipt (sender_id, seq);
