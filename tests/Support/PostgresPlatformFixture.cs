using DigitalPost.Infrastructure;
using Npgsql;

namespace DigitalPost.Tests.Support;

/// <summary>The platform of <see cref="PlatformFixture"/> with its grain state and reminders in PostgreSQL: a
/// throwaway server of its own, one database, the schema applied as a silo process applies it.</summary>
public sealed class PostgresPlatformFixture : PlatformFixture
{
    private PostgresServer? _server;

    /// <summary>The platform's database, as its silos connect to it (pooled).</summary>
    public string ConnectionString { get; private set; } = "";

    protected override async Task<IReadOnlyDictionary<string, string?>> PrepareStorage()
    {
        _server = await PostgresServer.StartAsync();
        // Pooled, as a production connection string is: a new connection per grain write would be most of the cost.
        ConnectionString = new NpgsqlConnectionStringBuilder(await _server.CreateDatabaseAsync()) { Pooling = true, MaxPoolSize = 20 }.ConnectionString;
        await new PostgresSchema(ConnectionString).ApplyAsync();
        return PostgresServer.PlatformSettings(ConnectionString);
    }

    public override async Task DisposeAsync()
    {
        try { await base.DisposeAsync(); }
        finally
        {
            if (_server is not null) await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresPlatformCollection : ICollectionFixture<PostgresPlatformFixture>
{
    public const string Name = "platform on PostgreSQL";
}
