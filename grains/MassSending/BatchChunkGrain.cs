using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using DigitalPost.Retention;

namespace DigitalPost.Grains;

[GenerateSerializer, Alias("dp.BatchChunkState")]
public sealed class BatchChunkState
{
    /// <summary>Rows as chunks stored them before <see cref="Packed"/>.</summary>
    [Id(0)] public List<BatchRow> Rows { get; set; } = [];
    /// <summary>The rows, packed by <see cref="BatchRows"/>.</summary>
    [Id(1)] public byte[]? Packed { get; set; }
}

/// <summary>A chunk of a batch's rows. Kept apart from the batch so that the batch's frequent writes stay small. Read
/// when the batch dispatches, which lets it go at once, and rarely after (previews, hand-overs): collected after two
/// minutes idle, not the default quarter of an hour, so that a million rows do not stay in memory once sent.</summary>
[CollectionAgeLimit(Minutes = 2)]
public sealed class BatchChunkGrain(
    [PersistentState("chunk", StorageNames.Platform)] IPersistentState<BatchChunkState> state) : Grain, IBatchChunkGrain
{
    private IReadOnlyList<BatchRow>? _rows;

    public async Task Store(IReadOnlyList<BatchRow> rows)
    {
        state.State.Packed = BatchRows.Pack(rows);
        state.State.Rows = [];
        _rows = rows;
        await state.WriteStateAsync();
        // Stored until the batch dispatches, which may be days away: kept in storage, not in memory.
        DeactivateOnIdle();
    }

    public Task<IReadOnlyList<BatchRow>> GetRows() =>
        Task.FromResult(_rows ??= state.State.Packed is { } packed ? BatchRows.Unpack(packed) : state.State.Rows);

    public Task<IReadOnlyList<BatchRow>> TakeRows()
    {
        DeactivateOnIdle();
        return GetRows();
    }

    public async Task<int> EraseRecipient(string recipientId)
    {
        var (rows, named) = BatchRowErasure.Without(await GetRows(), recipientId);
        if (named == 0) return 0;
        await Store(rows);
        return named;
    }

    public Task<bool> Forget()
    {
        _rows = null;
        return StateForgetting.Forget(state, this);
    }

    public static string KeyOf(Guid batchId, int chunk) => $"{batchId:N}/{chunk}";
}
