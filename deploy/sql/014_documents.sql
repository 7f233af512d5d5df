-- DigitalPost schema, version 014: messages' documents, stored once outside grain state.
--
-- A message grain keeps a reference to each file (length and SHA-256); the bytes are here, written as they arrive and
-- read as they are pushed, printed or opened. A file is written in pieces of 1 MiB (document_chunk) in one transaction
-- that ends with its document_file row, so a file is there whole or not at all, and a repeated put of the same key is
-- found by its document_file row and changes nothing.
CREATE TABLE IF NOT EXISTS document_file
(
    message_uuid uuid        NOT NULL,
    -- The document's place in the message's body (0: the main document, then the additional and technical ones).
    document     integer     NOT NULL,
    file         integer     NOT NULL,
    length       bigint      NOT NULL,
    sha256       bytea       NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_uuid, document, file)
);

CREATE TABLE IF NOT EXISTS document_chunk
(
    message_uuid uuid    NOT NULL,
    document     integer NOT NULL,
    file         integer NOT NULL,
    chunk        integer NOT NULL,
    data         bytea   NOT NULL,
    PRIMARY KEY (message_uuid, document, file, chunk)
);
-- Letters are mostly PDFs, compressed already: out of line without compression spares PostgreSQL trying to.
ALTER TABLE document_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
