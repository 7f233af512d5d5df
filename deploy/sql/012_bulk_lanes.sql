-- DigitalPost schema, version 012: letters delivered in bulk by lanes of their own: citizens' mailboxes, NemSMS, print.
--
-- A letter to a registered citizen is delivered when it is in the citizen's Digital Post mailbox; a NemSMS is sent
-- when it is in the NemSMS queue. A batch appends to both in bulk and the letter's row records the lane that moved it,
-- so the clean path needs no message grain. The message id is the key: a repeated append (a batch that resumes after
-- a crash) changes nothing.
CREATE TABLE IF NOT EXISTS citizen_mailbox
(
    uuid      uuid        PRIMARY KEY,
    -- Personal data: read by the citizen's own mailbox, never logged.
    cpr       text        NOT NULL,
    sender_id text        NOT NULL,
    title     text        NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS citizen_mailbox_cpr ON citizen_mailbox (cpr, at);

CREATE TABLE IF NOT EXISTS nemsms_queue
(
    uuid      uuid        PRIMARY KEY,
    cpr       text        NOT NULL,
    sender_id text        NOT NULL,
    title     text        NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS nemsms_queue_cpr ON nemsms_queue (cpr, at);

-- 0: its message grain, 1: a receiver system in bulk, 2: the citizen's mailbox, 3: the NemSMS queue, 4: print (LetterLane).
ALTER TABLE letter ADD COLUMN IF NOT EXISTS lane smallint NOT NULL DEFAULT 0;
UPDATE letter SET lane = 1 WHERE bulk_system IS NOT NULL AND lane = 0;

-- The remote-print provider's queue: a job waits to be printed, then to be handed to the postal service. A batch's
-- letter keeps its batch, row and copy, and its row in `letter` moves with the job; a message grain's has none.
CREATE TABLE IF NOT EXISTS print_job
(
    uuid      uuid        PRIMARY KEY,
    batch_id  uuid,
    row       integer,
    copy      integer,
    -- Personal data: the postal address, read by the print provider only.
    address   text[]      NOT NULL,
    documents integer     NOT NULL,
    -- A message grain's files in the document store, as "document/file" pairs: the provider streams them when it prints.
    stored_files text[],
    -- MessageStatus: SentToPrint, then Printed.
    status    smallint    NOT NULL,
    next_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS print_job_next ON print_job (next_at);
