-- DigitalPost schema, version 013: a batch is sent by partitions spread over the cluster.
--
-- Each letter's row records the partition of its batch that owns it, so that a receipt stored here reaches that
-- partition directly, wherever it lives. Rows stored before partitions belong to partition 0 of their batch.
ALTER TABLE letter ADD COLUMN IF NOT EXISTS part smallint NOT NULL DEFAULT 0;
