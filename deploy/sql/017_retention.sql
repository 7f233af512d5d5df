-- DigitalPost schema, version 017: retention per sender and erasure of one recipient's personal data.
--
-- A sender's letters are kept for its retention period, counted from when its batch first stored letters: a batch is
-- deleted whole, so the batch row records its sender and that time (the platform's clock, not the database's, so a
-- test's clock and the job agree). Batches described before this version have neither and are never expired: delete
-- them by hand or let an erasure reach them.
ALTER TABLE letter_batch ADD COLUMN IF NOT EXISTS sender_id text;
ALTER TABLE letter_batch ADD COLUMN IF NOT EXISTS described_at timestamptz;
CREATE INDEX IF NOT EXISTS letter_batch_sender ON letter_batch (sender_id, described_at);

-- Retention deletes a batch's letters a slice at a time (its primary key leads with batch_id); an erasure finds a
-- recipient's letters by recipient, and the archive entries and print jobs of letters by message id.
CREATE INDEX IF NOT EXISTS archive_letter_uuid ON archive_letter (uuid);
CREATE INDEX IF NOT EXISTS citizen_mailbox_sender ON citizen_mailbox (sender_id, at);
CREATE INDEX IF NOT EXISTS nemsms_queue_sender ON nemsms_queue (sender_id, at);

-- Events waiting for a sender's webhook expire with its letters: an outbox row records when it was stored.
ALTER TABLE webhook_outbox ADD COLUMN IF NOT EXISTS stored_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS webhook_outbox_stored ON webhook_outbox (sender_id, stored_at);
