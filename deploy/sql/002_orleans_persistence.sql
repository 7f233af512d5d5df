-- DigitalPost schema, version 002: grain state for Microsoft.Orleans.Persistence.AdoNet (Invariant "Npgsql").
--
-- Contract with the provider (Orleans 10.4):
--   ReadFromStorageKey  returns columns PayloadBinary, a timestamp, Version for one grain (no row = never written);
--   WriteToStorageKey   returns NewGrainStateVersion; returning the caller's own version means "conflict";
--   ClearStorageKey     returns NewGrainStateVersion after nulling the payload;
--   DeleteStorageKey    returns the deleted row's Version + 1 (used when DeleteStateOnClear is set).
-- The version column is the grain's ETag: every successful write bumps it, and a write carrying a stale
-- version touches nothing, which the provider turns into an InconsistentStateException.

-- No unique key on purpose: the provider identifies a grain by hashes plus the full strings, and hashes collide.
-- The index narrows look-ups to the hash pair; the remaining columns are compared in the statements.
CREATE TABLE IF NOT EXISTS orleansstorage
(
    grainidhash            integer                NOT NULL,
    grainidn0              bigint                 NOT NULL,
    grainidn1              bigint                 NOT NULL,
    graintypehash          integer                NOT NULL,
    graintypestring        character varying(512) NOT NULL,
    grainidextensionstring character varying(512),
    serviceid              character varying(150) NOT NULL,
    payloadbinary          bytea,
    modifiedon             timestamptz            NOT NULL,
    version                integer
);

CREATE INDEX IF NOT EXISTS ix_orleansstorage ON orleansstorage USING btree (grainidhash, graintypehash);

-- One function rather than two statements so that "update if the version matches, else insert if the grain has
-- no row yet" is a single round trip. A NULL version means the grain never read a stored row, so only the
-- first-insert path applies. Without a unique key, NOT EXISTS alone would let two activations (a split cluster)
-- both insert; a transaction-scoped advisory lock on the grain's hash serialises them, and the loser gets NULL
-- back, which the provider reports as a conflict.
CREATE OR REPLACE FUNCTION writetostorage(
    _grainidhash integer,
    _grainidn0 bigint,
    _grainidn1 bigint,
    _graintypehash integer,
    _graintypestring character varying,
    _grainidextensionstring character varying,
    _serviceid character varying,
    _grainstateversion integer,
    _payloadbinary bytea)
    RETURNS TABLE(newgrainstateversion integer)
    LANGUAGE plpgsql
AS $body$
DECLARE
    touched integer := 0;
BEGIN
    IF _grainstateversion IS NULL THEN
        PERFORM pg_advisory_xact_lock(2002, _grainidhash);
        INSERT INTO orleansstorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring,
                                    grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
        SELECT _grainidhash, _grainidn0, _grainidn1, _graintypehash, _graintypestring,
               _grainidextensionstring, _serviceid, _payloadbinary, now(), 1
        WHERE NOT EXISTS (
            SELECT 1 FROM orleansstorage s
            WHERE s.grainidhash = _grainidhash AND s.graintypehash = _graintypehash
              AND s.grainidn0 = _grainidn0 AND s.grainidn1 = _grainidn1
              AND s.graintypestring = _graintypestring
              AND s.grainidextensionstring IS NOT DISTINCT FROM _grainidextensionstring
              AND s.serviceid = _serviceid);
        GET DIAGNOSTICS touched = ROW_COUNT;
        RETURN QUERY SELECT CASE WHEN touched > 0 THEN 1 ELSE NULL::integer END;
    ELSE
        UPDATE orleansstorage s
        SET payloadbinary = _payloadbinary, modifiedon = now(), version = s.version + 1
        WHERE s.grainidhash = _grainidhash AND s.graintypehash = _graintypehash
          AND s.grainidn0 = _grainidn0 AND s.grainidn1 = _grainidn1
          AND s.graintypestring = _graintypestring
          AND s.grainidextensionstring IS NOT DISTINCT FROM _grainidextensionstring
          AND s.serviceid = _serviceid
          AND s.version = _grainstateversion;
        GET DIAGNOSTICS touched = ROW_COUNT;
        RETURN QUERY SELECT CASE WHEN touched > 0 THEN _grainstateversion + 1 ELSE _grainstateversion END;
    END IF;
END
$body$;

-- ON CONFLICT ... DO UPDATE so that a corrected statement in a later edition of this file replaces the old one.
INSERT INTO orleansquery (querykey, querytext) VALUES
('WriteToStorageKey', '
    SELECT newgrainstateversion AS "NewGrainStateVersion"
    FROM writetostorage(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
                        @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary)'),
('ReadFromStorageKey', '
    SELECT payloadbinary AS "PayloadBinary", now() AS "ModifiedOn", version AS "Version"
    FROM orleansstorage
    WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
      AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
      AND graintypestring = @GrainTypeString
      AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
      AND serviceid = @ServiceId'),
('ClearStorageKey', '
    UPDATE orleansstorage
    SET payloadbinary = NULL, modifiedon = now(), version = version + 1
    WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
      AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
      AND graintypestring = @GrainTypeString
      AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
      AND serviceid = @ServiceId
      AND version = @GrainStateVersion
    RETURNING version AS "NewGrainStateVersion"'),
('DeleteStorageKey', '
    DELETE FROM orleansstorage
    WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
      AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
      AND graintypestring = @GrainTypeString
      AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
      AND serviceid = @ServiceId
      AND version = @GrainStateVersion
    RETURNING version + 1 AS "NewGrainStateVersion"')
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;
