-- DigitalPost schema, version 020: the Virk mailbox (Virk-postkassen) as a store of its own, and the history of moves
-- out of it.
--
-- A message that no receiver system could take lands here; an organisation administrator moves letters on to a
-- receiver system. A move takes its letters out of the mailbox and records them in one transaction, so a letter is in
-- the mailbox or in exactly one move, never both, and two moves at once cannot take the same letter.
CREATE TABLE IF NOT EXISTS virk_mailbox
(
    cvr                        text        NOT NULL,
    uuid                       uuid        NOT NULL,
    delivered_at               timestamptz NOT NULL,
    original_contact_point_id  text,
    reason                     text        NOT NULL,
    PRIMARY KEY (cvr, uuid)
);
CREATE INDEX IF NOT EXISTS virk_mailbox_arrival ON virk_mailbox (cvr, delivered_at, uuid);

CREATE TABLE IF NOT EXISTS virk_move
(
    move_id                    uuid        PRIMARY KEY,
    cvr                        text        NOT NULL,
    moved_at                   timestamptz NOT NULL,
    moved_by                   text        NOT NULL,
    contact_point_id           text,
    to_original_contact_point  boolean     NOT NULL,
    moved                      integer     NOT NULL,
    -- Letters handed back to delivery so far: the move's grain works through them in order and resumes here.
    redelivered                integer     NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS virk_move_cvr ON virk_move (cvr, moved_at);

CREATE TABLE IF NOT EXISTS virk_move_letter
(
    move_id           uuid    NOT NULL,
    seq               integer NOT NULL,
    uuid              uuid    NOT NULL,
    contact_point_id  text,
    PRIMARY KEY (move_id, seq)
);
