using System.Text;
using DigitalPost.Contracts;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace DigitalPost.Infrastructure;

/// <summary>The grain state retention and erasure clear: message grains' (the message with its recipient and documents'
/// references, its attempts and history; a status read of the message then answers that there is no such message) and a
/// merge batch's with its chunks' (the CSV's rows) and partitions'.</summary>
public interface IGrainStates
{
    /// <summary>Returns how many messages had a state to clear.</summary>
    Task<long> ClearMessages(IReadOnlyList<Guid> messageUuids);

    /// <summary>A batch has tens of grains, so a call to each is cheap.</summary>
    Task ForgetBatches(IReadOnlyList<Guid> batchIds);
}

/// <summary>The embedded default: each grain forgets its own state, a slice of them at a time.</summary>
public class GrainStates(IGrainFactory grains) : IGrainStates
{
    protected IGrainFactory Grains { get; } = grains;

    public virtual Task<long> ClearMessages(IReadOnlyList<Guid> messageUuids) => Forget(messageUuids.Select(uuid => Grains.GetGrain<IMessageGrain>(uuid)));

    public Task ForgetBatches(IReadOnlyList<Guid> batchIds) => Forget(batchIds.Select(b => Grains.GetGrain<IMergeBatchGrain>(b)));

    /// <summary>Returns how many had a stored state.</summary>
    protected static async Task<long> Forget(IEnumerable<IForgettable> forgettable)
    {
        long stored = 0;
        foreach (var slice in forgettable.Chunk(1_000)) stored += (await Task.WhenAll(slice.Select(g => g.Forget()))).Count(had => had);
        return stored;
    }
}

/// <summary>On PostgreSQL message grains' states are rows of Orleans' storage table, deleted in bulk
/// (<see cref="PostgresMessageStateRows"/>): a call per message grain would activate a million grains to delete a million
/// rows. An activation still in memory would answer from its state: the active ones among the messages forget it too
/// (a write of theirs would fail anyway, the row they read being gone).</summary>
public sealed class PostgresGrainStates(PostgresMessageStateRows rows, IGrainFactory grains) : GrainStates(grains)
{
    public override async Task<long> ClearMessages(IReadOnlyList<Guid> messageUuids)
    {
        var deleted = await rows.Delete(messageUuids);
        var type = Grains.GetGrain<IMessageGrain>(Guid.Empty).GetGrainId().Type;
        var cleared = messageUuids.ToHashSet();
        var active = await Grains.GetGrain<IManagementGrain>(0).GetActiveGrains(type);
        await Forget(active.Select(id => id.GetGuidKey()).Where(cleared.Contains).Select(uuid => Grains.GetGrain<IMessageGrain>(uuid)));
        return deleted;
    }
}

/// <summary>Message grains' rows in Orleans' storage table (single messages, and batch letters' stored before their
/// letters' rows kept their state), found as Orleans' ADO.NET provider keys them (its
/// <c>AdoGrainKey</c>): a GUID key's bytes as two 64-bit halves, the grain id hash over those bytes reversed, the type
/// hash over the state's name, no key extension, the cluster's service id.</summary>
public sealed class PostgresMessageStateRows(NpgsqlDataSource db, string serviceId)
{
    /// <summary>The name of <c>MessageGrain</c>'s persistent state, which the provider stores as the grain type.</summary>
    public const string StateName = "message";
    private const int Slice = 10_000;
    public static readonly int TypeHash = Hash(Encoding.UTF8.GetBytes(StateName));

    public PostgresMessageStateRows(NpgsqlDataSource db, IOptions<ClusterOptions> cluster) : this(db, cluster.Value.ServiceId) { }

    public async Task<long> Delete(IReadOnlyList<Guid> messageUuids)
    {
        long deleted = 0;
        foreach (var slice in messageUuids.Chunk(Slice))
        {
            var (hashes, n0, n1) = (new int[slice.Length], new long[slice.Length], new long[slice.Length]);
            for (var i = 0; i < slice.Length; i++) (hashes[i], n0[i], n1[i]) = KeyOf(slice[i]);
            await using var command = db.CreateCommand("""
                DELETE FROM orleansstorage s USING unnest($1::integer[], $2::bigint[], $3::bigint[]) AS k (h, n0, n1)
                WHERE s.grainidhash = k.h AND s.graintypehash = $4 AND s.grainidn0 = k.n0 AND s.grainidn1 = k.n1
                  AND s.graintypestring = $5 AND s.grainidextensionstring IS NULL AND s.serviceid = $6
                """);
            command.Parameters.AddWithValue(hashes);
            command.Parameters.AddWithValue(n0);
            command.Parameters.AddWithValue(n1);
            command.Parameters.AddWithValue(TypeHash);
            command.Parameters.AddWithValue(StateName);
            command.Parameters.AddWithValue(serviceId);
            deleted += await command.ExecuteNonQueryAsync();
            // A batch letter's grain keeps its state on the letter's row, which its deletion takes with it; dropped here
            // too, so that the count is the same as the embedded default's, where each grain clears its own.
            await using var rows = db.CreateCommand("UPDATE letter SET resend = NULL, version = version + 1 WHERE uuid = ANY($1) AND resend IS NOT NULL");
            rows.Parameters.AddWithValue(slice);
            deleted += await rows.ExecuteNonQueryAsync();
        }
        return deleted;
    }

    /// <summary>The provider's key columns of a message grain's row.</summary>
    public static (int Hash, long N0, long N1) KeyOf(Guid messageUuid)
    {
        var bytes = messageUuid.ToByteArray();
        var key = (BitConverter.ToInt64(bytes, 0), BitConverter.ToInt64(bytes, 8));
        if (BitConverter.IsLittleEndian) Array.Reverse(bytes);
        return (Hash(bytes), key.Item1, key.Item2);
    }

    private static int Hash(byte[] bytes) => (int)StableHash.ComputeHash(bytes);
}
