using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Npgsql;

namespace DigitalPost.Infrastructure;

/// <summary>Brings a PostgreSQL database up to the schema in deploy/sql: each numbered script runs once, in order,
/// and its version is recorded in <c>digitalpost_schema_version</c>. Every silo may call this at start-up; they
/// queue on one advisory lock, so exactly one applies each script and the rest find it recorded.</summary>
public sealed partial class PostgresSchema(string connectionString)
{
    /// <summary>An arbitrary constant shared by every silo: the advisory lock key that serialises migrations.</summary>
    private const long MigrationLock = 0x4450_5343_4845_4D41; // "DPSCHEMA"
    private const string ResourcePrefix = "DigitalPost.Sql.";

    public sealed record Script(int Version, string Name, string Sql);

    /// <summary>The scripts embedded from deploy/sql, ordered by the number their file name starts with.</summary>
    public static IReadOnlyList<Script> Scripts { get; } = LoadScripts();

    /// <summary>Applies the scripts the database has not recorded yet; returns the versions applied by this call.</summary>
    public async Task<IReadOnlyList<int>> ApplyAsync(CancellationToken cancellationToken = default)
    {
        var applied = new List<int>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var script in Scripts)
        {
            // One transaction per script: a failing script leaves the versions before it in place and records
            // nothing of itself, so the next start retries exactly where this one stopped.
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLock})", cancellationToken);
            // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog.
            await Execute(connection, transaction, """
                CREATE TABLE IF NOT EXISTS digitalpost_schema_version
                (
                    version    integer     NOT NULL PRIMARY KEY,
                    name       text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, cancellationToken);

            await using (var check = new NpgsqlCommand("SELECT 1 FROM digitalpost_schema_version WHERE version = @v", connection, transaction))
            {
                check.Parameters.AddWithValue("v", script.Version);
                if (await check.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    await transaction.CommitAsync(cancellationToken);
                    continue;
                }
            }

            await Execute(connection, transaction, script.Sql, cancellationToken);
            await using (var record = new NpgsqlCommand("INSERT INTO digitalpost_schema_version (version, name) VALUES (@v, @n)", connection, transaction))
            {
                record.Parameters.AddWithValue("v", script.Version);
                record.Parameters.AddWithValue("n", script.Name);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            applied.Add(script.Version);
        }
        return applied;
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static IReadOnlyList<Script> LoadScripts()
    {
        var assembly = typeof(PostgresSchema).Assembly;
        var scripts = new List<Script>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..];
            var match = NumberedScript().Match(name);
            if (!match.Success)
                throw new InvalidOperationException($"SQL script {name} is not named NNN_description.sql.");
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add(new Script(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), name, reader.ReadToEnd()));
        }
        var duplicate = scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"Two SQL scripts share version {duplicate.Key}: {string.Join(", ", duplicate.Select(s => s.Name))}.");
        return scripts.OrderBy(s => s.Version).ToList();
    }

    [GeneratedRegex(@"^(\d+)_[A-Za-z0-9_]+\.sql$")]
    private static partial Regex NumberedScript();
}
