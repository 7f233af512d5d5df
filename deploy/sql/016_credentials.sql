-- DigitalPost schema, version 016: who may call the platform's HTTP API, and what administrators changed.
--
-- A credential is an API key the platform generated and showed once; only its SHA-256 is kept (see ApiKeys in the
-- silo for why a fast hash suffices for a random 256-bit key). Rotation replaces the hash, revocation stamps the row:
-- a revoked credential stays listed, so its id is never given to another system.
CREATE TABLE IF NOT EXISTS credential
(
    id                 text        NOT NULL PRIMARY KEY,
    role               smallint    NOT NULL,
    name               text        NOT NULL,
    -- The organisation or authority the credential acts for; null for operators.
    cvr                text,
    -- For a receiver system: its id within the organisation.
    receiver_system_id text,
    key_hash           bytea       NOT NULL,
    created_at         timestamptz NOT NULL,
    rotated_at         timestamptz,
    revoked_at         timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS credential_key_hash ON credential (key_hash);

-- Append-only: the platform only inserts; the sequence orders the entries.
CREATE TABLE IF NOT EXISTS audit_entry
(
    seq       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text        NOT NULL,
    role      text        NOT NULL,
    action    text        NOT NULL,
    target    text        NOT NULL,
    before    jsonb,
    after     jsonb
);

CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
END
$$;
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();
