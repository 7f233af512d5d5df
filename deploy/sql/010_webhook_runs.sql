-- DigitalPost schema, version 010: the webhook outbox stores runs of events.
--
-- A batch hands its sender thousands of events a second; one row per event made the outbox's rows (inserted, read,
-- deleted and vacuumed) a third of PostgreSQL's work for a million letters. A row now holds a run of events in the
-- sender's order, at most one push's worth, as the JSON array the webhook receives, and how many events it holds.
-- Replayable: a row already holding a run is left as it is.
ALTER TABLE webhook_outbox ADD COLUMN IF NOT EXISTS event_count integer NOT NULL DEFAULT 1;
UPDATE webhook_outbox SET event = json_build_array(event::json) WHERE json_typeof(event::json) = 'object';
ALTER TABLE webhook_outbox ALTER COLUMN event_count DROP DEFAULT;
-- A run is written once by the platform's serialiser and read once: text, not json, so PostgreSQL does not parse
-- every event on the way in; stored out of line without compression, since a run lives for about a second.
ALTER TABLE webhook_outbox ALTER COLUMN event TYPE text;
ALTER TABLE webhook_outbox ALTER COLUMN event SET STORAGE EXTERNAL;
COMMENT ON COLUMN webhook_outbox.event IS 'A run of events in the sender''s order: a JSON array of event_count events.';
