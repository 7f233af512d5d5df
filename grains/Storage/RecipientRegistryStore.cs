using System.Collections.Concurrent;
using System.Threading.Channels;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using Npgsql;
using NpgsqlTypes;

namespace DigitalPost.Infrastructure;

/// <summary>
/// The recipient registry: every citizen (about 6 million) and company (about 800,000) that Digital Post can reach,
/// loaded in bulk and looked up in bulk by the batches' recipient checks. It is a table, not a grain's state: a grain
/// whose state is the whole registry rewrote all of it on every load.
/// </summary>
public interface IRecipientRegistryStore
{
    /// <summary>Adds or replaces citizens by CPR number; of a number given twice, the last counts.</summary>
    Task<RegistryCounts> UpsertCitizens(IReadOnlyList<Citizen> citizens);

    /// <summary>Adds or replaces companies by CVR number. Each company's P-numbers become those given; a P-number given
    /// for another company than before moves to it (of a CVR or P-number given twice, the last counts).</summary>
    Task<RegistryCounts> UpsertCompanies(IReadOnlyList<Company> companies);

    /// <summary>Loads citizens as they are read (a registry file's rows, each CPR number at most once): enumerated
    /// once, on a thread of the store's choosing, and stored <paramref name="chunkRows"/> at a time, each chunk in one
    /// transaction. An exception of the enumeration ends the load; the chunks before it stay stored.</summary>
    Task<RegistryCounts> LoadCitizens(IEnumerable<Citizen> citizens, int chunkRows, CancellationToken cancellationToken = default);

    /// <summary>Loads companies as they are read (each CVR number at most once), as <see cref="LoadCitizens"/> loads
    /// citizens; P-numbers as <see cref="UpsertCompanies"/> keeps them.</summary>
    Task<RegistryCounts> LoadCompanies(IEnumerable<Company> companies, int chunkRows, CancellationToken cancellationToken = default);

    /// <summary>The answer to each query, in order (see <see cref="RecipientLookup"/>).</summary>
    Task<IReadOnlyList<RecipientInfo>> Lookup(IReadOnlyList<RecipientQuery> queries);

    Task<RegistryCounts> Counts();

    /// <summary>Erases a recipient: the citizen with this CPR number (and the number from every other citizen's
    /// guardians), or the company with this CVR number and its P-numbers. A later load that names it adds it again.</summary>
    Task<RegistryErasure> Erase(string recipientId);
}

/// <summary>What an erasure removed from the registry: the citizen's row, the guardians lists it was in, the company's
/// row and its P-numbers.</summary>
public sealed record RegistryErasure(int Citizens, int GuardianOf, int Companies, int PNumbers);

/// <summary>The embedded default: the registry in memory, gone with the process like the rest of the embedded storage.</summary>
public sealed class MemoryRecipientRegistryStore(TimeProvider time) : IRecipientRegistryStore
{
    private readonly ConcurrentDictionary<string, Citizen> _citizens = new();
    // A P-number moving to another company changes two companies and the index at once, so companies change under a lock.
    private readonly Dictionary<string, Company> _companies = [];
    private readonly Dictionary<string, string> _cvrByPNumber = [];

    public Task<RegistryCounts> UpsertCitizens(IReadOnlyList<Citizen> citizens) => LoadCitizens(citizens, citizens.Count);

    /// <summary>The citizen with the CPR number, if registered: the notifier's view of the registry.</summary>
    public Citizen? Citizen(string cpr) => _citizens.GetValueOrDefault(cpr);

    public Task<RegistryCounts> LoadCitizens(IEnumerable<Citizen> citizens, int chunkRows, CancellationToken cancellationToken = default)
    {
        foreach (var citizen in citizens) _citizens[citizen.Cpr] = citizen;
        return Counts();
    }

    public Task<RegistryCounts> UpsertCompanies(IReadOnlyList<Company> companies) => LoadCompanies(companies, companies.Count);

    public Task<RegistryCounts> LoadCompanies(IEnumerable<Company> companies, int chunkRows, CancellationToken cancellationToken = default)
    {
        foreach (var company in companies)
        {
            lock (_companies)
            {
                if (_companies.TryGetValue(company.Cvr, out var before))
                    foreach (var p in before.PNumbers) _cvrByPNumber.Remove(p);
                foreach (var p in company.PNumbers)
                {
                    if (_cvrByPNumber.TryGetValue(p, out var owner) && owner != company.Cvr)
                        _companies[owner] = _companies[owner] with { PNumbers = [.. _companies[owner].PNumbers.Where(x => x != p)] };
                    _cvrByPNumber[p] = company.Cvr;
                }
                // Sorted, as the PostgreSQL store gives them.
                _companies[company.Cvr] = company with { PNumbers = [.. company.PNumbers.Distinct().Order(StringComparer.Ordinal)] };
            }
        }
        return Counts();
    }

    public Task<IReadOnlyList<RecipientInfo>> Lookup(IReadOnlyList<RecipientQuery> queries)
    {
        lock (_companies)
            return Task.FromResult(RecipientLookup.Answer(queries, time.GetUtcNow(), cpr => _citizens.GetValueOrDefault(cpr),
                cvr => _companies.GetValueOrDefault(cvr), p => _cvrByPNumber.GetValueOrDefault(p)));
    }

    public Task<RegistryCounts> Counts()
    {
        lock (_companies) return Task.FromResult(new RegistryCounts(_citizens.Count, _companies.Count));
    }

    public Task<RegistryErasure> Erase(string recipientId)
    {
        var citizens = _citizens.TryRemove(recipientId, out _) ? 1 : 0;
        var guardianOf = 0;
        foreach (var (cpr, citizen) in _citizens)
            if (citizen.Guardians.Contains(recipientId)
                && _citizens.TryUpdate(cpr, citizen with { Guardians = [.. citizen.Guardians.Where(g => g != recipientId)] }, citizen))
                guardianOf++;
        var (companies, pNumbers) = (0, 0);
        lock (_companies)
            if (_companies.Remove(recipientId, out var company))
            {
                companies = 1;
                pNumbers = company.PNumbers.Count(_cvrByPNumber.Remove);
            }
        return Task.FromResult(new RegistryErasure(citizens, guardianOf, companies, pNumbers));
    }
}

/// <summary>
/// The registry in PostgreSQL (tables <c>citizen</c>, <c>company</c>, <c>company_pnumber</c>, deploy/sql). A load's
/// rows are read and encoded for COPY on a thread of their own a chunk ahead of the chunk being stored, and each chunk
/// is one transaction: a binary COPY into a temporary table, then one <c>INSERT ... ON CONFLICT DO UPDATE</c> that
/// leaves unchanged rows alone, so loading the same registry again writes only what changed. Citizens that are all new
/// (a first national load) are copied straight into their table instead, which costs PostgreSQL half as much. A lookup
/// is one round trip, whatever the mix of CPR, CVR and P-numbers. The counts are kept in a row of their own
/// (<c>registry_counts</c>), as a count over millions of rows on every status read would cost more than a load's chunk.
/// </summary>
public sealed class PostgresRecipientRegistryStore(NpgsqlDataSource db, TimeProvider time) : IRecipientRegistryStore
{
    private const string CitizenColumns = "cpr, name, status, nemsms, guardians, address, notify_email, notify_mobile";
    private const string CompanyColumns = "cvr, name, mailbox_active, address";

    /// <summary>Rows of the statement's upsert that were inserted rather than updated: an updated row's new version
    /// carries the upsert's row lock in xmax, an inserted one none, and the statement's counts need the difference.</summary>
    private const string CountInserted = "count(*) FILTER (WHERE inserted)";

    /// <summary>Upserts take a chunk's rows in key order: the index is then walked in order rather than at random
    /// (half the time for a chunk in no particular order), and concurrent loads lock shared rows in the same order
    /// instead of deadlocking. A chunk's sort fits in this much memory; the default would sort on disk.</summary>
    private const string SortInMemory = "SET LOCAL work_mem = '64MB'";

    /// <summary>Whether the next chunk of citizens is first tried as a plain COPY into the table. A failed try costs
    /// a COPY of the chunk, so after one it is off until a chunk turns out all new again: a first load tries every
    /// chunk, a reload only its first.</summary>
    private volatile bool _copyCitizensFirst = true;

    public Task<RegistryCounts> UpsertCitizens(IReadOnlyList<Citizen> citizens) =>
        LoadCitizens(LastOfEach(citizens, c => c.Cpr), Math.Max(1, citizens.Count));

    public Task<RegistryCounts> LoadCitizens(IEnumerable<Citizen> citizens, int chunkRows, CancellationToken cancellationToken = default) =>
        Load(citizens, chunkRows, EncodeCitizens, StoreCitizens, cancellationToken);

    public Task<RegistryCounts> UpsertCompanies(IReadOnlyList<Company> companies) =>
        LoadCompanies(LastOfEach(companies, c => c.Cvr), Math.Max(1, companies.Count));

    public Task<RegistryCounts> LoadCompanies(IEnumerable<Company> companies, int chunkRows, CancellationToken cancellationToken = default) =>
        Load(companies, chunkRows, EncodeCompanies, StoreCompanies, cancellationToken);

    /// <summary>Reads and encodes the next chunk while the one before is stored: reading is this process's work,
    /// storing mostly the database's, and a slow database holds the reading back rather than letting chunks pile up.</summary>
    private async Task<RegistryCounts> Load<T>(IEnumerable<T> records, int chunkRows, Func<IEnumerator<T>, int, BinaryCopyRows?> encode,
        Func<BinaryCopyRows, Task<RegistryCounts>> store, CancellationToken cancellationToken)
    {
        var chunks = Channel.CreateBounded<BinaryCopyRows>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A thread of its own: the records may be read synchronously from a request's body for the whole of a long load.
        var reading = Task.Factory.StartNew(() =>
        {
            try
            {
                using var record = records.GetEnumerator();
                while (encode(record, chunkRows) is { } chunk)
                    if (!chunks.Writer.TryWrite(chunk)) chunks.Writer.WriteAsync(chunk, stop.Token).AsTask().GetAwaiter().GetResult();
                chunks.Writer.Complete();
            }
            catch (Exception e)
            {
                chunks.Writer.Complete(e);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        RegistryCounts? counts = null;
        try
        {
            await foreach (var chunk in chunks.Reader.ReadAllAsync(cancellationToken))
                using (chunk) counts = await store(chunk);
        }
        finally
        {
            // Storing failed or the caller gave up: the reading stops at its next chunk.
            await stop.CancelAsync();
            await reading;
        }
        return counts ?? await Counts();
    }

    private static BinaryCopyRows? EncodeCitizens(IEnumerator<Citizen> citizen, int chunkRows)
    {
        BinaryCopyRows? rows = null;
        while ((rows?.Count ?? 0) < chunkRows && citizen.MoveNext())
        {
            var c = citizen.Current;
            rows ??= new BinaryCopyRows();
            rows.StartRow(8, BinaryCopyRows.MaxBytes(c.Cpr) + BinaryCopyRows.MaxBytes(c.Name) + 6 + 5 +
                BinaryCopyRows.MaxBytes(c.Guardians) + BinaryCopyRows.MaxBytes(c.Address) +
                BinaryCopyRows.MaxBytes(c.NotificationEmail) + BinaryCopyRows.MaxBytes(c.NotificationMobile));
            rows.Text(c.Cpr);
            rows.Text(c.Name);
            rows.Int16((short)c.Status);
            rows.Boolean(c.NemSms);
            rows.TextArray(c.Guardians);
            rows.TextArray(c.Address);
            rows.TextOrNull(c.NotificationEmail);
            rows.TextOrNull(c.NotificationMobile);
        }
        return rows;
    }

    private async Task<RegistryCounts> StoreCitizens(BinaryCopyRows rows)
    {
        if (_copyCitizensFirst)
        {
            try
            {
                return await InTransaction(async (connection, transaction) =>
                {
                    await rows.CopyTo(connection, $"COPY citizen ({CitizenColumns}) FROM STDIN (FORMAT BINARY)");
                    return (await Count(connection, transaction, "UPDATE registry_counts SET citizens = citizens + $1 RETURNING citizens, companies, $1", rows.Count)).Counts;
                });
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                _copyCitizensFirst = false;
            }
        }
        return await InTransaction(async (connection, transaction) =>
        {
            await Execute(connection, transaction, $"{SortInMemory}; CREATE TEMP TABLE citizen_in (LIKE citizen) ON COMMIT DROP");
            await rows.CopyTo(connection, $"COPY citizen_in ({CitizenColumns}) FROM STDIN (FORMAT BINARY)");
            var (counts, inserted) = await Count(connection, transaction, $"""
                WITH upserted AS (
                    INSERT INTO citizen ({CitizenColumns}) SELECT {CitizenColumns} FROM citizen_in ORDER BY cpr
                    ON CONFLICT (cpr) DO UPDATE SET
                        name = excluded.name, status = excluded.status, nemsms = excluded.nemsms,
                        guardians = excluded.guardians, address = excluded.address,
                        notify_email = excluded.notify_email, notify_mobile = excluded.notify_mobile
                    WHERE (citizen.name, citizen.status, citizen.nemsms, citizen.guardians, citizen.address, citizen.notify_email, citizen.notify_mobile)
                          IS DISTINCT FROM (excluded.name, excluded.status, excluded.nemsms, excluded.guardians, excluded.address,
                                            excluded.notify_email, excluded.notify_mobile)
                    RETURNING xmax = 0 AS inserted),
                added AS (SELECT {CountInserted} AS n FROM upserted)
                UPDATE registry_counts SET citizens = citizens + (SELECT n FROM added)
                RETURNING citizens, companies, (SELECT n FROM added)
                """);
            if (inserted == rows.Count) _copyCitizensFirst = true;
            return counts;
        });
    }

    private static BinaryCopyRows? EncodeCompanies(IEnumerator<Company> company, int chunkRows)
    {
        BinaryCopyRows? rows = null;
        while ((rows?.Count ?? 0) < chunkRows && company.MoveNext())
        {
            var c = company.Current;
            rows ??= new BinaryCopyRows();
            var order = rows.Count;
            rows.StartRow(6, BinaryCopyRows.MaxBytes(c.Cvr) + BinaryCopyRows.MaxBytes(c.Name) + 5 + BinaryCopyRows.MaxBytes(c.Address) +
                BinaryCopyRows.MaxBytes(c.PNumbers) + 8);
            rows.Text(c.Cvr);
            rows.Text(c.Name);
            rows.Boolean(c.MailboxActive);
            rows.TextArray(c.Address);
            rows.TextArray(c.PNumbers);
            rows.Int32(order);
        }
        return rows;
    }

    private async Task<RegistryCounts> StoreCompanies(BinaryCopyRows rows) => await InTransaction(async (connection, transaction) =>
    {
        // ord: the company's place in the chunk, as of a P-number given for two companies the later one's claim stands.
        await Execute(connection, transaction, $"{SortInMemory}; CREATE TEMP TABLE company_in (LIKE company, pnumbers text[] NOT NULL, ord integer NOT NULL) ON COMMIT DROP");
        await rows.CopyTo(connection, $"COPY company_in ({CompanyColumns}, pnumbers, ord) FROM STDIN (FORMAT BINARY)");
        // Only what changed: a P-number deleted and inserted again in one transaction costs its unique check a visit
        // to the deleted row, and reloading the same registry would do that for every P-number. The chunk's companies
        // are looked up by index: joined by merge or hash, each chunk read all P-numbers.
        await Execute(connection, transaction, """
            SET LOCAL enable_mergejoin = off;
            SET LOCAL enable_hashjoin = off;
            DELETE FROM company_pnumber p USING company_in c WHERE p.cvr = c.cvr AND p.pnumber <> ALL (c.pnumbers);
            INSERT INTO company_pnumber (pnumber, cvr)
            SELECT DISTINCT ON (p.pnumber) p.pnumber, c.cvr FROM company_in c, unnest(c.pnumbers) AS p (pnumber) ORDER BY p.pnumber, c.ord DESC
            ON CONFLICT (pnumber) DO UPDATE SET cvr = excluded.cvr WHERE company_pnumber.cvr <> excluded.cvr
            """);
        return (await Count(connection, transaction, $"""
            WITH upserted AS (
                INSERT INTO company ({CompanyColumns}) SELECT {CompanyColumns} FROM company_in ORDER BY cvr
                ON CONFLICT (cvr) DO UPDATE SET name = excluded.name, mailbox_active = excluded.mailbox_active, address = excluded.address
                WHERE (company.name, company.mailbox_active, company.address) IS DISTINCT FROM (excluded.name, excluded.mailbox_active, excluded.address)
                RETURNING xmax = 0 AS inserted),
            added AS (SELECT {CountInserted} AS n FROM upserted)
            UPDATE registry_counts SET companies = companies + (SELECT n FROM added)
            RETURNING citizens, companies, (SELECT n FROM added)
            """)).Counts;
    });

    public async Task<IReadOnlyList<RecipientInfo>> Lookup(IReadOnlyList<RecipientQuery> queries)
    {
        var (cprs, cvrs, pNumbers) = RecipientLookup.Keys(queries);
        var (readCitizens, readCompanies) = (cprs.Length > 0, cvrs.Length > 0 || pNumbers.Length > 0);
        var citizens = new Dictionary<string, Citizen>();
        var companies = new Dictionary<string, Company>();
        var cvrByPNumber = new Dictionary<string, string>();
        await using var batch = db.CreateBatch();
        if (readCitizens) batch.BatchCommands.Add(Command($"SELECT {CitizenColumns} FROM citizen WHERE cpr = ANY($1)", cprs));
        if (readCompanies)
        {
            batch.BatchCommands.Add(Command("SELECT pnumber, cvr FROM company_pnumber WHERE pnumber = ANY($1)", pNumbers));
            // A company asked for by P-number alone is found through its P-number, in the same statement.
            batch.BatchCommands.Add(Command("""
                SELECT c.cvr, c.name, c.mailbox_active, c.address, ARRAY(SELECT p.pnumber FROM company_pnumber p WHERE p.cvr = c.cvr ORDER BY p.pnumber)
                FROM company c WHERE c.cvr = ANY($1 || ARRAY(SELECT cvr FROM company_pnumber WHERE pnumber = ANY($2)))
                """, cvrs, pNumbers));
        }
        if (batch.BatchCommands.Count > 0)
        {
            await using var reader = await batch.ExecuteReaderAsync();
            if (readCitizens)
            {
                while (await reader.ReadAsync())
                    citizens[reader.GetString(0)] = new Citizen(reader.GetString(0), reader.GetString(1), (RegistrationStatus)reader.GetInt16(2),
                        reader.GetBoolean(3), reader.GetFieldValue<string[]>(4), reader.GetFieldValue<string[]>(5),
                        reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7));
                await reader.NextResultAsync();
            }
            if (readCompanies)
            {
                while (await reader.ReadAsync()) cvrByPNumber[reader.GetString(0)] = reader.GetString(1);
                await reader.NextResultAsync();
                while (await reader.ReadAsync())
                    companies[reader.GetString(0)] = new Company(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2),
                        reader.GetFieldValue<string[]>(4), reader.GetFieldValue<string[]>(3));
            }
        }
        return RecipientLookup.Answer(queries, time.GetUtcNow(), cpr => citizens.GetValueOrDefault(cpr),
            cvr => companies.GetValueOrDefault(cvr), p => cvrByPNumber.GetValueOrDefault(p));
    }

    public async Task<RegistryErasure> Erase(string recipientId)
    {
        // The guardians update reads every citizen (no index covers the arrays): an erasure is rare, and an index for
        // it would cost every national load.
        await using var batch = db.CreateBatch();
        foreach (var sql in new[]
        {
            "WITH gone AS (DELETE FROM citizen WHERE cpr = $1 RETURNING 1) UPDATE registry_counts SET citizens = citizens - (SELECT count(*) FROM gone) RETURNING (SELECT count(*) FROM gone)",
            "WITH changed AS (UPDATE citizen SET guardians = array_remove(guardians, $1) WHERE $1 = ANY(guardians) RETURNING 1) SELECT count(*) FROM changed",
            "WITH gone AS (DELETE FROM company WHERE cvr = $1 RETURNING 1) UPDATE registry_counts SET companies = companies - (SELECT count(*) FROM gone) RETURNING (SELECT count(*) FROM gone)",
            "WITH gone AS (DELETE FROM company_pnumber WHERE cvr = $1 RETURNING 1) SELECT count(*) FROM gone",
        })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddWithValue(recipientId);
            batch.BatchCommands.Add(command);
        }
        var counts = new List<int>();
        await using var reader = await batch.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync()) counts.Add((int)reader.GetInt64(0));
        } while (await reader.NextResultAsync());
        return new RegistryErasure(counts[0], counts[1], counts[2], counts[3]);
    }

    public async Task<RegistryCounts> Counts()
    {
        await using var command = db.CreateCommand("SELECT citizens, companies FROM registry_counts");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new RegistryCounts(checked((int)reader.GetInt64(0)), checked((int)reader.GetInt64(1)));
    }

    /// <summary>Runs a chunk's statements in one transaction, again if it deadlocked: the upserts lock rows in key order,
    /// but a plain COPY takes its file's order, so two loads at once that share rows can still wait on each other, and
    /// PostgreSQL then rolls one of them back.</summary>
    private async Task<RegistryCounts> InTransaction(Func<NpgsqlConnection, NpgsqlTransaction, Task<RegistryCounts>> work)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync();
                await using var transaction = await connection.BeginTransactionAsync();
                var counts = await work(connection, transaction);
                await transaction.CommitAsync();
                return counts;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < 3) { }
        }
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The counts after a statement that changes them, and how many rows it added.</summary>
    private static async Task<(RegistryCounts Counts, long Added)> Count(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, long? added = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        if (added is { } n) command.Parameters.AddWithValue(n);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (new RegistryCounts(checked((int)reader.GetInt64(0)), checked((int)reader.GetInt64(1))), reader.GetInt64(2));
    }

    private static NpgsqlBatchCommand Command(string sql, params string[][] arrays)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var array in arrays) command.Parameters.Add(new NpgsqlParameter { Value = array, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return command;
    }


    /// <summary>One record per key, the last given.</summary>
    private static IReadOnlyList<T> LastOfEach<T>(IReadOnlyList<T> records, Func<T, string> key)
    {
        var last = new Dictionary<string, int>(records.Count);
        for (var i = 0; i < records.Count; i++) last[key(records[i])] = i;
        return last.Count == records.Count ? records : [.. last.Values.Order().Select(i => records[i])];
    }
}
