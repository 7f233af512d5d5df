-- DigitalPost schema, version 001: the query registry of the Orleans ADO.NET providers.
--
-- The providers (clustering, persistence, reminders) issue no SQL of their own: at start-up each reads the
-- statements it needs from this table by key, then runs them with its named parameters (@GrainIdHash, ...).
-- Later scripts add their tables and register their statements here. Every script is applied once, in a
-- transaction, by DigitalPost.Infrastructure.PostgresSchema; each is still written to be re-runnable
-- by hand (IF NOT EXISTS, ON CONFLICT) so an operator can replay it on a half-migrated database.

CREATE TABLE IF NOT EXISTS orleansquery
(
    querykey  varchar(64)   NOT NULL,
    querytext varchar(8000) NOT NULL,
    CONSTRAINT orleansquery_key PRIMARY KEY (querykey)
);
