using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace DigitalPost.Silo.Auth;

/// <summary>Who a caller of the HTTP API is. The numbers are stored: never renumber one.</summary>
public enum Role
{
    /// <summary>Runs the platform: credentials, the registry, operations, the dashboard, any organisation.</summary>
    Operator = 0,
    /// <summary>A sender system of an authority: sends, and reads what it sent.</summary>
    Sender = 1,
    /// <summary>An organisation's administrator: its receiver systems, contact points, reactivation, Virk mailbox.</summary>
    OrganisationAdmin = 2,
    /// <summary>A receiver system (modtagersystem): answers receipts for letters pushed to it, nothing else.</summary>
    ReceiverSystem = 3,
    /// <summary>A mailbox provider (the citizens' and companies' Digital Post mailbox): hands on the post they write to
    /// authorities, nothing else.</summary>
    Mailbox = 4,
}

/// <summary>A credential as the platform keeps it: never its key. <paramref name="Cvr"/> is the authority (sender), the
/// organisation (administrator, receiver system) it acts for; <paramref name="ReceiverSystemId"/> names the receiver
/// system within that organisation. A credential from configuration cannot be rotated or revoked over the API.</summary>
public sealed record Credential(string Id, Role Role, string Name, string? Cvr, string? ReceiverSystemId, DateTimeOffset CreatedAt,
    DateTimeOffset? RotatedAt = null, DateTimeOffset? RevokedAt = null, bool FromConfiguration = false)
{
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>API keys: made by the platform, 256 random bits, and stored as their SHA-256.</summary>
/// <remarks>A password needs a slow, salted hash (bcrypt, Argon2) because people choose few of the possible passwords,
/// so a stolen hash can be matched by trying the likely ones. A key of 256 random bits has no likely values: finding
/// one whose SHA-256 matches is a 2^256 search however fast the hash, so a fast unsalted hash loses nothing, and it lets
/// a request's key be found by an index lookup of its hash.</remarks>
public static class ApiKeys
{
    public static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

/// <summary>The credentials the platform issued (the operator API's). Configured ones are in <see cref="Credentials"/>.</summary>
public interface ICredentialStore
{
    /// <summary>False when a credential with this id exists already (revoked ones included).</summary>
    Task<bool> Add(Credential credential, byte[] keyHash);

    Task<Credential?> FindByKeyHash(byte[] keyHash);

    Task<Credential?> Find(string id);

    Task<IReadOnlyList<Credential>> List();

    /// <summary>Replaces the key of an active credential; false when there is none with this id.</summary>
    Task<bool> Rotate(string id, byte[] keyHash, DateTimeOffset at);

    /// <summary>Revokes an active credential; false when there is none with this id.</summary>
    Task<bool> Revoke(string id, DateTimeOffset at);
}

/// <summary>The embedded default: gone with the process, like the rest of its state.</summary>
public sealed class MemoryCredentialStore : ICredentialStore
{
    private readonly ConcurrentDictionary<string, (Credential Credential, string Hash)> _byId = new();

    public Task<bool> Add(Credential credential, byte[] keyHash) => Task.FromResult(_byId.TryAdd(credential.Id, (credential, Convert.ToHexString(keyHash))));

    public Task<Credential?> FindByKeyHash(byte[] keyHash)
    {
        var hash = Convert.ToHexString(keyHash);
        return Task.FromResult<Credential?>(_byId.Values.FirstOrDefault(c => c.Hash == hash).Credential);
    }

    public Task<Credential?> Find(string id) => Task.FromResult(_byId.TryGetValue(id, out var found) ? found.Credential : null);

    public Task<IReadOnlyList<Credential>> List() => Task.FromResult<IReadOnlyList<Credential>>([.. _byId.Values.Select(c => c.Credential).OrderBy(c => c.Id, StringComparer.Ordinal)]);

    public Task<bool> Rotate(string id, byte[] keyHash, DateTimeOffset at) =>
        Task.FromResult(Change(id, found => (found.Credential with { RotatedAt = at }, Convert.ToHexString(keyHash))));

    public Task<bool> Revoke(string id, DateTimeOffset at) => Task.FromResult(Change(id, found => (found.Credential with { RevokedAt = at }, found.Hash)));

    private bool Change(string id, Func<(Credential Credential, string Hash), (Credential, string)> change)
    {
        while (_byId.TryGetValue(id, out var found) && !found.Credential.IsRevoked)
            if (_byId.TryUpdate(id, change(found), found)) return true;
        return false;
    }
}

/// <summary>Table <c>credential</c> (deploy/sql/016_credentials.sql).</summary>
public sealed class PostgresCredentialStore(NpgsqlDataSource db) : ICredentialStore
{
    private const string Columns = "id, role, name, cvr, receiver_system_id, created_at, rotated_at, revoked_at";

    public async Task<bool> Add(Credential credential, byte[] keyHash)
    {
        await using var command = db.CreateCommand($"INSERT INTO credential ({Columns}, key_hash) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7) ON CONFLICT (id) DO NOTHING");
        command.Parameters.AddWithValue(credential.Id);
        command.Parameters.AddWithValue((short)credential.Role);
        command.Parameters.AddWithValue(credential.Name);
        command.Parameters.AddWithValue((object?)credential.Cvr ?? DBNull.Value);
        command.Parameters.AddWithValue((object?)credential.ReceiverSystemId ?? DBNull.Value);
        command.Parameters.AddWithValue(credential.CreatedAt);
        command.Parameters.AddWithValue(keyHash);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task<Credential?> FindByKeyHash(byte[] keyHash) => (await Read($"SELECT {Columns} FROM credential WHERE key_hash = $1", keyHash)).FirstOrDefault();

    public async Task<Credential?> Find(string id) => (await Read($"SELECT {Columns} FROM credential WHERE id = $1", id)).FirstOrDefault();

    public Task<IReadOnlyList<Credential>> List() => Read($"SELECT {Columns} FROM credential ORDER BY id");

    public async Task<bool> Rotate(string id, byte[] keyHash, DateTimeOffset at)
    {
        await using var command = db.CreateCommand("UPDATE credential SET key_hash = $2, rotated_at = $3 WHERE id = $1 AND revoked_at IS NULL");
        foreach (var value in new object[] { id, keyHash, at }) command.Parameters.AddWithValue(value);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task<bool> Revoke(string id, DateTimeOffset at)
    {
        await using var command = db.CreateCommand("UPDATE credential SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL");
        foreach (var value in new object[] { id, at }) command.Parameters.AddWithValue(value);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    private async Task<IReadOnlyList<Credential>> Read(string sql, params object[] parameters)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var parameter in parameters) command.Parameters.AddWithValue(parameter);
        var found = new List<Credential>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            found.Add(new Credential(reader.GetString(0), (Role)reader.GetInt16(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7)));
        return found;
    }
}

/// <summary>A sender system from configuration (<c>Senders:{id}:ApiKey|Name|Cvr</c>), as deployments before issued
/// credentials configured them.</summary>
public sealed class SenderAccount
{
    public string ApiKey { get; set; } = "";
    /// <summary>The sending authority's name on the letters.</summary>
    public string Name { get; set; } = "";
    /// <summary>The sending authority's CVR.</summary>
    public string Cvr { get; set; } = "";
}

/// <summary>An operator from configuration (<c>Operators:{name}:ApiKey</c>): how a fresh installation gets its first
/// operator, who then issues every other credential.</summary>
public sealed class OperatorAccount
{
    public string ApiKey { get; set; } = "";
}

/// <summary>Every credential the platform accepts: those in configuration, then those it issued. A key is looked up by
/// its hash, so a lookup's timing tells nothing about a key.</summary>
public sealed class Credentials
{
    public const string SendersSection = "Senders";
    public const string OperatorsSection = "Operators";
    private readonly Dictionary<string, Credential> _configuredByHash;
    private readonly ICredentialStore _store;

    public Credentials(IConfiguration configuration, ICredentialStore store, TimeProvider time)
    {
        _store = store;
        var senders = configuration.GetSection(SendersSection).Get<Dictionary<string, SenderAccount>>() ?? [];
        var operators = configuration.GetSection(OperatorsSection).Get<Dictionary<string, OperatorAccount>>() ?? [];
        var since = time.GetUtcNow();
        Configured =
        [
            .. operators.Where(o => o.Value.ApiKey.Length > 0).Select(o => (o.Value.ApiKey, new Credential(o.Key, Role.Operator, o.Key, null, null, since, FromConfiguration: true))),
            .. senders.Where(s => s.Value.ApiKey.Length > 0).Select(s => (s.Value.ApiKey, new Credential(s.Key, Role.Sender, s.Value.Name, s.Value.Cvr, null, since, FromConfiguration: true))),
        ];
        _configuredByHash = Configured.ToDictionary(c => Convert.ToHexString(ApiKeys.Hash(c.Key)), c => c.Credential);
    }

    private IReadOnlyList<(string Key, Credential Credential)> Configured { get; }

    public IEnumerable<Credential> FromConfiguration => Configured.Select(c => c.Credential);

    public bool IsConfigured(string id) => Configured.Any(c => c.Credential.Id == id);

    /// <summary>The active credential with this key, or null.</summary>
    public async Task<Credential?> Authenticate(string key)
    {
        if (key.Length == 0) return null;
        var hash = ApiKeys.Hash(key);
        if (_configuredByHash.TryGetValue(Convert.ToHexString(hash), out var configured)) return configured;
        return await _store.FindByKeyHash(hash) is { IsRevoked: false } issued ? issued : null;
    }
}
