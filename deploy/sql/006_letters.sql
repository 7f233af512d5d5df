-- The letters of merge batches: one row per letter (a row's own letter is copy 0, copies to guardians and extra
-- recipients follow). A batch writes its letters in bulk; a letter delivered in the bulk lane (no message grain of
-- its own) gets its final state here from its positive receipt.
CREATE TABLE IF NOT EXISTS letter
(
    batch_id     uuid        NOT NULL,
    row          integer     NOT NULL,
    copy         integer     NOT NULL,
    generation   integer     NOT NULL,
    uuid         uuid,
    state        smallint    NOT NULL,
    final        boolean     NOT NULL,
    channel      smallint,
    error_code   text,
    error_text   text,
    remedy       text,
    rerouted     boolean     NOT NULL,
    kind         smallint    NOT NULL,
    -- CPR or CVR: personal data, kept for the archive case, never logged.
    recipient_id text        NOT NULL,
    -- The receiver system ("cvr/systemId") while the letter is in the bulk lane.
    bulk_system  text,
    pushed_at    timestamptz,
    delivered_at timestamptz,
    -- In the recipient's case in the sender's archive.
    archived     boolean     NOT NULL DEFAULT false,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, row, copy)
);

-- Receipts find their letter by message id.
CREATE UNIQUE INDEX IF NOT EXISTS letter_uuid ON letter (uuid);
