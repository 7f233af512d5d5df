-- The senders' archives: a recipient's case is named by a keyed hash of sender and recipient (no personal data in
-- the key); each delivered letter is one row, with its receipts in the letter document.
CREATE TABLE IF NOT EXISTS archive_letter
(
    case_key   text        NOT NULL,
    kind       smallint    NOT NULL,
    uuid       uuid        NOT NULL,
    created_at timestamptz NOT NULL,
    letter     jsonb       NOT NULL,
    PRIMARY KEY (case_key, uuid)
);
