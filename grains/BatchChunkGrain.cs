using DigitalPost.Contracts;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.BatchChunkState")]
public sealed class BatchChunkState
{
    [Id(0)] public List<BatchRow> Rows { get; set; } = [];
}

/// <summary>A chunk of a batch's rows. Kept apart from the batch so that the batch's frequent writes stay small.</summary>
public sealed class BatchChunkGrain(
    [PersistentState("chunk", StorageNames.Platform)] IPersistentState<BatchChunkState> state) : Grain, IBatchChunkGrain
{
    public async Task Store(IReadOnlyList<BatchRow> rows)
    {
        state.State.Rows = [.. rows];
        await state.WriteStateAsync();
        // Stored until the batch dispatches, which may be days away: kept in storage, not in memory.
        DeactivateOnIdle();
    }

    public Task<IReadOnlyList<BatchRow>> GetRows()
    {
        // Read once when the batch dispatches, rarely after (previews, retries): its rows need not stay in memory.
        DeactivateOnIdle();
        return Task.FromResult<IReadOnlyList<BatchRow>>(state.State.Rows);
    }

    public static string KeyOf(Guid batchId, int chunk) => $"{batchId:N}/{chunk}";
}
