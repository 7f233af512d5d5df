using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using DigitalPost.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;

namespace DigitalPost.Tests.Postgres;

/// <summary>Grain state on PostgreSQL is stored as it was when its write was asked for, though a reentrant grain goes on
/// changing it while the write is under way (a merge batch takes its chunks concurrently).</summary>
[Collection(PostgresPlatformCollection.Name)]
public sealed class GrainStateSnapshotTests(PostgresPlatformFixture platform)
{
    [Fact]
    public async Task A_write_stores_the_state_as_it_was_asked_for_while_the_grain_goes_on_changing_it()
    {
        var services = platform.Cluster.Silos[0].ServiceProvider;
        var storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Platform);
        var connectionString = platform.ConnectionString;
        var id = GrainId.Create("mergebatch", Guid.NewGuid().ToString("N"));
        var state = new GrainState<MergeBatchState>(new MergeBatchState());
        var chunks = state.State!.Chunks;
        var next = 0;
        for (var write = 0; write < 5; write++)
        {
            for (var i = 0; i < 200; i++, next++) chunks[next] = new ChunkInfo(1, next, next, []);
            var asked = chunks.Keys.ToHashSet();
            // A busy silo: every pooled connection is taken, so the write waits for one, as it did under load.
            var busy = new List<NpgsqlConnection>();
            for (var i = 0; i < new NpgsqlConnectionStringBuilder(connectionString).MaxPoolSize; i++)
            {
                var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                busy.Add(connection);
            }
            var writing = storage.WriteStateAsync("batch", id, state);
            // The grain's next turns go on while the write gets its connection and runs on another thread.
            var turns = Task.Run(() =>
            {
                for (var i = 0; i < 2_000 && !writing.IsCompleted; i++, next++) chunks[next] = new ChunkInfo(1, next, next, []);
            });
            foreach (var connection in busy) await connection.DisposeAsync();
            await turns;
            await writing;

            var stored = new GrainState<MergeBatchState>(new MergeBatchState());
            await storage.ReadStateAsync("batch", id, stored);
            Assert.Equal(asked.Order(), stored.State!.Chunks.Keys.Order());
            Assert.Equal(state.ETag, stored.ETag);
        }
    }
}
