using DigitalPost.Contracts;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.BatchChunkState")]
public sealed class BatchChunkState
{
    [Id(0)] public List<BatchRow> Rows { get; set; } = [];
}

/// <summary>A chunk of a batch's rows. Kept apart from the batch so that the batch's frequent writes stay small. Read
/// when the batch dispatches, which lets it go at once, and rarely after (previews, hand-overs): collected after two
/// minutes idle, not the default quarter of an hour, so that a million rows do not stay in memory once sent.</summary>
[CollectionAgeLimit(Minutes = 2)]
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

    public Task<IReadOnlyList<BatchRow>> GetRows() => Task.FromResult<IReadOnlyList<BatchRow>>(state.State.Rows);

    public Task<IReadOnlyList<BatchRow>> TakeRows()
    {
        DeactivateOnIdle();
        return GetRows();
    }

    public static string KeyOf(Guid batchId, int chunk) => $"{batchId:N}/{chunk}";
}
