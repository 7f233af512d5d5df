-- DigitalPost schema, version 011: a letter delivered in the bulk lane is archived by its own row.
--
-- Each delivered letter used to be copied into archive_letter as well: a fourth row per letter, and a fifth of
-- PostgreSQL's work for a million. The recipient's case (sag) now reads the bulk lane's delivered letters from
-- `letter` by their case key, with the batch's label from `letter_batch`; archive_letter keeps the letters that went
-- through a message grain, with their attempts. The case key is written once with the letter and never changes, so
-- a receipt's update stays heap-only. Letters stored before this version have no case key: a batch still sending
-- across the upgrade leaves their bulk deliveries out of the recipients' cases, so upgrade between batches.
ALTER TABLE letter ADD COLUMN IF NOT EXISTS case_key text;
CREATE INDEX IF NOT EXISTS letter_case ON letter (case_key);
CREATE TABLE IF NOT EXISTS letter_batch
(
    batch_id uuid PRIMARY KEY,
    label    text NOT NULL
);
