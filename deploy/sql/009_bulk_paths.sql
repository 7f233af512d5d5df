-- DigitalPost schema, version 009: cheaper hot paths for a million letters.
--
-- Webhook events are stored as the JSON text the webhook receives and pushed as stored, and archived letters are
-- read back whole: json keeps the text as it came, jsonb would parse it into its binary form on the way in and print
-- it again on the way out. Nothing queries inside either.
ALTER TABLE webhook_outbox ALTER COLUMN event TYPE json USING event::json;
ALTER TABLE archive_letter ALTER COLUMN letter TYPE json USING letter::json;

-- A letter's receipt changes only columns no index covers; with room left on its page the new version stays there
-- (a heap-only tuple) and neither index of the letter is written again.
ALTER TABLE letter SET (fillfactor = 60);
