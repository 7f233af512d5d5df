-- DigitalPost schema, version 003: cluster membership for Microsoft.Orleans.Clustering.AdoNet (Invariant "Npgsql").
--
-- Contract with the provider (Orleans 10.4); "DeploymentId" in its parameters is the cluster id:
--   InsertMembershipVersionKey      creates the cluster's version row; returns one value, true if it was created;
--   InsertMembershipKey             adds a silo row and bumps the version, both or neither, only if the caller's
--                                   @Version is current; returns one value, true on success;
--   UpdateMembershipKey             changes a silo row under the same version check; returns one value;
--   UpdateIAmAlivetimeKey           the silo's heartbeat; unconditional, its result is not read;
--   MembershipReadRowKey / ...AllKey  the version row joined to the silo rows (one row, no silo columns, when the
--                                   cluster has no silo yet), read by column name: DeploymentId, Address, Port,
--                                   Generation, SiloName, HostName, Status, ProxyPort, SuspectTimes, StartTime,
--                                   IAmAliveTime, Version;
--   GatewaysQueryKey                Address, ProxyPort, Generation of the silos in @Status that run a gateway;
--   DeleteMembershipTableEntriesKey removes the cluster (tests and tooling);
--   CleanupDefunctSiloEntriesKey    removes silos not heard from since @IAmAliveTime, unless still Active (3).
-- The version row is the table's ETag: a writer that read an old version changes nothing and retries.

CREATE TABLE IF NOT EXISTS orleansmembershipversiontable
(
    deploymentid varchar(150)   NOT NULL,
    timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    version      integer        NOT NULL DEFAULT 0,
    CONSTRAINT orleansmembershipversiontable_key PRIMARY KEY (deploymentid)
);

CREATE TABLE IF NOT EXISTS orleansmembershiptable
(
    deploymentid varchar(150)   NOT NULL,
    address      varchar(45)    NOT NULL,
    port         integer        NOT NULL,
    generation   integer        NOT NULL,
    siloname     varchar(150)   NOT NULL,
    hostname     varchar(150)   NOT NULL,
    status       integer        NOT NULL,
    proxyport    integer,
    suspecttimes varchar(8000),
    starttime    timestamptz(3) NOT NULL,
    iamalivetime timestamptz(3) NOT NULL,
    CONSTRAINT orleansmembershiptable_key PRIMARY KEY (deploymentid, address, port, generation),
    CONSTRAINT orleansmembershiptable_version FOREIGN KEY (deploymentid)
        REFERENCES orleansmembershipversiontable (deploymentid)
);

-- Bumps the cluster's version if it still is _version; false if another writer got there first.
CREATE OR REPLACE FUNCTION digitalpost_bump_membership_version(_deploymentid varchar, _version integer)
    RETURNS boolean
    LANGUAGE sql
AS $body$
    WITH bumped AS (
        UPDATE orleansmembershipversiontable
        SET version = version + 1, timestamp = now()
        WHERE deploymentid = _deploymentid AND version = _version
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM bumped)
$body$;

-- Inserts the silo row and bumps the version in one step. The inner block is a savepoint: if the version moved,
-- the raised error undoes the insert and the caller gets false rather than an exception.
CREATE OR REPLACE FUNCTION digitalpost_insert_membership(
    _deploymentid varchar, _address varchar, _port integer, _generation integer, _siloname varchar,
    _hostname varchar, _status integer, _proxyport integer, _starttime timestamptz, _iamalivetime timestamptz,
    _version integer)
    RETURNS boolean
    LANGUAGE plpgsql
AS $body$
DECLARE
    inserted integer;
BEGIN
    BEGIN
        INSERT INTO orleansmembershiptable (deploymentid, address, port, generation, siloname, hostname, status,
                                            proxyport, starttime, iamalivetime)
        VALUES (_deploymentid, _address, _port, _generation, _siloname, _hostname, _status,
                _proxyport, _starttime, _iamalivetime)
        ON CONFLICT (deploymentid, address, port, generation) DO NOTHING;
        GET DIAGNOSTICS inserted = ROW_COUNT;
        IF inserted = 0 OR NOT digitalpost_bump_membership_version(_deploymentid, _version) THEN
            RAISE EXCEPTION USING ERRCODE = 'DP001';
        END IF;
        RETURN true;
    EXCEPTION WHEN SQLSTATE 'DP001' THEN
        RETURN false;
    END;
END
$body$;

-- Same pattern for an existing silo row: bump the version first, then the row; either both change or neither.
CREATE OR REPLACE FUNCTION digitalpost_update_membership(
    _deploymentid varchar, _address varchar, _port integer, _generation integer, _status integer,
    _suspecttimes varchar, _iamalivetime timestamptz, _version integer)
    RETURNS boolean
    LANGUAGE plpgsql
AS $body$
DECLARE
    updated integer;
BEGIN
    BEGIN
        IF NOT digitalpost_bump_membership_version(_deploymentid, _version) THEN
            RETURN false;
        END IF;
        UPDATE orleansmembershiptable
        SET status = _status, suspecttimes = _suspecttimes, iamalivetime = _iamalivetime
        WHERE deploymentid = _deploymentid AND address = _address AND port = _port AND generation = _generation;
        GET DIAGNOSTICS updated = ROW_COUNT;
        IF updated = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'DP001';
        END IF;
        RETURN true;
    EXCEPTION WHEN SQLSTATE 'DP001' THEN
        RETURN false;
    END;
END
$body$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('InsertMembershipVersionKey', '
    WITH created AS (
        INSERT INTO orleansmembershipversiontable (deploymentid) VALUES (@DeploymentId)
        ON CONFLICT (deploymentid) DO NOTHING
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM created)'),
('InsertMembershipKey', '
    SELECT digitalpost_insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
                                         @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version)'),
('UpdateMembershipKey', '
    SELECT digitalpost_update_membership(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
                                         @IAmAliveTime, @Version)'),
('UpdateIAmAlivetimeKey', '
    UPDATE orleansmembershiptable
    SET iamalivetime = @IAmAliveTime
    WHERE deploymentid = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation'),
('MembershipReadRowKey', '
    SELECT v.deploymentid AS "DeploymentId", m.address AS "Address", m.port AS "Port",
           m.generation AS "Generation", m.siloname AS "SiloName", m.hostname AS "HostName",
           m.status AS "Status", m.proxyport AS "ProxyPort", m.suspecttimes AS "SuspectTimes",
           m.starttime AS "StartTime", m.iamalivetime AS "IAmAliveTime", v.version AS "Version"
    FROM orleansmembershipversiontable v
    LEFT JOIN orleansmembershiptable m
           ON m.deploymentid = v.deploymentid
          AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    WHERE v.deploymentid = @DeploymentId'),
('MembershipReadAllKey', '
    SELECT v.deploymentid AS "DeploymentId", m.address AS "Address", m.port AS "Port",
           m.generation AS "Generation", m.siloname AS "SiloName", m.hostname AS "HostName",
           m.status AS "Status", m.proxyport AS "ProxyPort", m.suspecttimes AS "SuspectTimes",
           m.starttime AS "StartTime", m.iamalivetime AS "IAmAliveTime", v.version AS "Version"
    FROM orleansmembershipversiontable v
    LEFT JOIN orleansmembershiptable m ON m.deploymentid = v.deploymentid
    WHERE v.deploymentid = @DeploymentId'),
('GatewaysQueryKey', '
    SELECT address AS "Address", proxyport AS "ProxyPort", generation AS "Generation"
    FROM orleansmembershiptable
    WHERE deploymentid = @DeploymentId AND status = @Status AND proxyport > 0'),
('DeleteMembershipTableEntriesKey', '
    DELETE FROM orleansmembershiptable WHERE deploymentid = @DeploymentId;
    DELETE FROM orleansmembershipversiontable WHERE deploymentid = @DeploymentId'),
('CleanupDefunctSiloEntriesKey', '
    DELETE FROM orleansmembershiptable
    WHERE deploymentid = @DeploymentId AND iamalivetime < @IAmAliveTime AND status <> 3')
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;
