-- DigitalPost schema, version 004: reminders for Microsoft.Orleans.Reminders.AdoNet (Invariant "Npgsql").
--
-- Contract with the provider (Orleans 10.4):
--   UpsertReminderRowKey              stores a reminder; returns its new Version (the reminder's ETag);
--   ReadReminderRowKey / RowsKey      one grain's reminder(s);
--   ReadRangeRows1Key / Rows2Key      the reminders whose GrainHash lies in a ring range (BeginHash, EndHash];
--                                     Rows2 is the range that wraps around the end of the ring;
--                                     all reads return GrainId, ReminderName, StartTime, Period (ms), Version;
--   DeleteReminderRowKey              removes one reminder if its Version still matches; one value, true if gone;
--   DeleteReminderRowsKey             removes every reminder of the service (tests and tooling).
-- Reminders are keyed by service id, not cluster id: they outlive every deployment of the service.

CREATE TABLE IF NOT EXISTS orleansreminderstable
(
    serviceid    varchar(150)   NOT NULL,
    grainid      varchar(512)   NOT NULL,
    remindername varchar(150)   NOT NULL,
    starttime    timestamptz(3) NOT NULL,
    period       bigint         NOT NULL,
    grainhash    integer        NOT NULL,
    version      integer        NOT NULL,
    CONSTRAINT orleansreminderstable_key PRIMARY KEY (serviceid, grainid, remindername)
);

-- The range reads scan by service and hash.
CREATE INDEX IF NOT EXISTS ix_orleansreminderstable_hash ON orleansreminderstable USING btree (serviceid, grainhash);

INSERT INTO orleansquery (querykey, querytext) VALUES
('UpsertReminderRowKey', '
    INSERT INTO orleansreminderstable AS r (serviceid, grainid, remindername, starttime, period, grainhash, version)
    VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
    ON CONFLICT (serviceid, grainid, remindername) DO UPDATE
        SET starttime = EXCLUDED.starttime, period = EXCLUDED.period, grainhash = EXCLUDED.grainhash,
            version = r.version + 1
    RETURNING r.version AS "Version"'),
('ReadReminderRowsKey', '
    SELECT grainid AS "GrainId", remindername AS "ReminderName", starttime AS "StartTime",
           period AS "Period", version AS "Version"
    FROM orleansreminderstable
    WHERE serviceid = @ServiceId AND grainid = @GrainId'),
('ReadReminderRowKey', '
    SELECT grainid AS "GrainId", remindername AS "ReminderName", starttime AS "StartTime",
           period AS "Period", version AS "Version"
    FROM orleansreminderstable
    WHERE serviceid = @ServiceId AND grainid = @GrainId AND remindername = @ReminderName'),
('ReadRangeRows1Key', '
    SELECT grainid AS "GrainId", remindername AS "ReminderName", starttime AS "StartTime",
           period AS "Period", version AS "Version"
    FROM orleansreminderstable
    WHERE serviceid = @ServiceId AND grainhash > @BeginHash AND grainhash <= @EndHash'),
('ReadRangeRows2Key', '
    SELECT grainid AS "GrainId", remindername AS "ReminderName", starttime AS "StartTime",
           period AS "Period", version AS "Version"
    FROM orleansreminderstable
    WHERE serviceid = @ServiceId AND (grainhash > @BeginHash OR grainhash <= @EndHash)'),
('DeleteReminderRowKey', '
    WITH deleted AS (
        DELETE FROM orleansreminderstable
        WHERE serviceid = @ServiceId AND grainid = @GrainId AND remindername = @ReminderName
          AND version = @Version
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM deleted)'),
('DeleteReminderRowsKey', '
    DELETE FROM orleansreminderstable WHERE serviceid = @ServiceId')
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;
