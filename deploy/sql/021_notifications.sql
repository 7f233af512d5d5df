-- DigitalPost schema, version 021: notifications of new post (advisering).
--
-- A citizen may choose to be told by e-mail and/or SMS when a letter lands in the Digital Post mailbox. The choice is
-- in the registry; older rows have none.
ALTER TABLE citizen ADD COLUMN IF NOT EXISTS notify_email text;
ALTER TABLE citizen ADD COLUMN IF NOT EXISTS notify_mobile text;

-- The notifier takes the letters appended since its last sweep. A sequence number would not do: appends commit in
-- another order than they draw numbers, so a sweep could pass a number whose letter was not committed yet and never
-- see it. The appending transaction's id does: every transaction below the oldest one still running
-- (pg_snapshot_xmin of the sweep's snapshot) has ended, so the sweep takes the letters of the transactions from its
-- watermark up to that one, and none of them can gain a letter afterwards. Letters appended before this version have
-- none and are not notified.
ALTER TABLE citizen_mailbox ADD COLUMN IF NOT EXISTS txid bigint;
ALTER TABLE citizen_mailbox ALTER COLUMN txid SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX IF NOT EXISTS citizen_mailbox_txid ON citizen_mailbox (txid);

-- One row: the notifier's watermark (the first transaction id not swept yet) and when it last swept.
CREATE TABLE IF NOT EXISTS notification_watermark
(
    single     boolean     PRIMARY KEY DEFAULT true CHECK (single),
    next_txid  bigint      NOT NULL,
    swept_at   timestamptz,
    queued     bigint      NOT NULL DEFAULT 0
);
INSERT INTO notification_watermark (next_txid) VALUES (0) ON CONFLICT DO NOTHING;

-- The notification outbox, both channels: a row per notification, queued by the notifier's sweep (one statement per
-- sweep) and sent by the channel's sender from `due` on. Citizen, channel and due time are the idempotency key. A sent
-- row is kept for a window, as the citizen's last notification on the channel decides when the next may be due.
CREATE TABLE IF NOT EXISTS notification_outbox
(
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Personal data: never logged; the notification's text does not contain it.
    cpr        text        COLLATE "C" NOT NULL,
    -- NotificationChannel: 0 e-mail, 1 SMS.
    channel    smallint    NOT NULL,
    due        timestamptz NOT NULL,
    address    text        NOT NULL,
    next_at    timestamptz NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    sent_at    timestamptz,
    last_error text,
    UNIQUE (cpr, channel, due)
);
CREATE INDEX IF NOT EXISTS notification_outbox_waiting ON notification_outbox (channel, next_at) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS notification_outbox_sent ON notification_outbox (due) WHERE sent_at IS NOT NULL;

-- Sent in all, per channel: the outbox forgets sent rows after a window.
CREATE TABLE IF NOT EXISTS notification_counts
(
    channel    smallint    PRIMARY KEY,
    sent       bigint      NOT NULL DEFAULT 0,
    last_sent_at timestamptz
);
INSERT INTO notification_counts (channel) VALUES (0), (1) ON CONFLICT DO NOTHING;
