-- The senders' webhook outboxes: status events in order (seq) until the sender's webhook answered 2xx.
CREATE TABLE IF NOT EXISTS webhook_outbox
(
    sender_id text   NOT NULL,
    seq       bigint GENERATED ALWAYS AS IDENTITY,
    event     jsonb  NOT NULL,
    PRIMARY KEY (sender_id, seq)
);
