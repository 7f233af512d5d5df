-- DigitalPost schema, version 026: a merge batch's letter keeps its message grain's state on its own row.
--
-- A letter that leaves the bulk lanes (handed over, or given to its message grain by its batch) is moved by its
-- message grain, whose state was a row of Orleans' storage table, told to the batch on a stream and written to this
-- row later: two copies that could disagree after a crash. The grain now stores its state here, with the row's state
-- columns, in one conditional write (version is its ETag); a batch's save keeps what the grain wrote, unless it
-- stores the letter's next generation (a retry), which starts with no state. Single messages and messages stored
-- before this version keep theirs in Orleans' table. The message holds the recipient's CPR: deleting the row
-- (retention, erasure) deletes it with the letter.
ALTER TABLE letter ADD COLUMN IF NOT EXISTS resend bytea;
ALTER TABLE letter ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 0;
-- The grain finds its row by message id: letter_uuid (006) is that index.
