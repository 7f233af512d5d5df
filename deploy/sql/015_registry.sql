-- DigitalPost schema, version 015: the recipient registry as tables.
--
-- The registry was one grain whose state held every citizen and company, rewritten whole on each load: at national
-- scale (about 6 million citizens and 800,000 companies) that is a blob of hundreds of megabytes per write. Loads now
-- upsert chunks of rows (COPY into a temporary table, then INSERT ... ON CONFLICT), and lookups read the rows they
-- name. A registry kept in grain storage before this version is not carried over: load it again.
--
-- The keys are compared byte by byte (COLLATE "C"): they are digits, and a locale's collation would make every
-- index comparison of a national load dearer for no difference in order that matters.
CREATE TABLE IF NOT EXISTS citizen
(
    cpr       text COLLATE "C" PRIMARY KEY,
    name      text     NOT NULL,
    -- RegistrationStatus: 0 registered, 1 not yet confirmed, 2 exempt, 3 closed.
    status    smallint NOT NULL,
    nemsms    boolean  NOT NULL,
    guardians text[]   NOT NULL,
    address   text[]   NOT NULL
);

CREATE TABLE IF NOT EXISTS company
(
    cvr            text COLLATE "C" PRIMARY KEY,
    name           text    NOT NULL,
    mailbox_active boolean NOT NULL,
    address        text[]  NOT NULL
);

-- A production unit belongs to one company. Its company's row is written in the same transaction, so no foreign key
-- is checked row by row during a load.
CREATE TABLE IF NOT EXISTS company_pnumber
(
    pnumber text COLLATE "C" PRIMARY KEY,
    cvr     text COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS company_pnumber_cvr ON company_pnumber (cvr);

-- The counts, kept by the loads: a count(*) over millions of rows on every status read would cost more than a
-- load's chunk. One row.
CREATE TABLE IF NOT EXISTS registry_counts
(
    single    boolean PRIMARY KEY DEFAULT true CHECK (single),
    citizens  bigint  NOT NULL,
    companies bigint  NOT NULL
);
INSERT INTO registry_counts (citizens, companies) VALUES (0, 0) ON CONFLICT DO NOTHING;
