using DigitalPost.Domain.MassSending;
using DigitalPost.Grains;
using Orleans.Storage;

namespace DigitalPost.Infrastructure;

/// <summary>Message grains' storage: the state of a merge batch's letter IS its row in the letter store. The grain writes
/// its state and the row's state columns in one conditional write (the row's version is the ETag), so the row says
/// what the grain says at once, and a stale or duplicate activation changes nothing. Single messages have no row, and
/// messages stored before the row kept state keep theirs: both in <paramref name="previous"/>, the platform's storage.
/// The state is serialised as that storage serialises it.</summary>
public sealed class LetterRowStorage(ILetterStore letters, IGrainStorage previous, IGrainStorageSerializer serializer) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var row = await letters.FindMessageState(grainId.GetGuidKey());
        if (row is { State: { } stored })
        {
            (grainState.State, grainState.ETag, grainState.RecordExists) = (serializer.Deserialize<T>(new BinaryData(stored)), ETagOf(row.Version), true);
            return;
        }
        await previous.ReadStateAsync(stateName, grainId, grainState);
        // Its first write goes to the row, at the row's version, whatever the platform's storage held.
        if (row is not null) grainState.ETag = ETagOf(row.Version);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (grainState.State is not MessageState { Message.Batch: not null } message)
        {
            await previous.WriteStateAsync(stateName, grainId, grainState);
            return;
        }
        var version = VersionOf(grainState.ETag);
        // Serialised before the first await: the grain's turn is the only one that changes its state meanwhile.
        var state = serializer.Serialize(grainState.State).ToArray();
        if (!await letters.StoreMessageState(grainId.GetGuidKey(), version, state, LetterColumns.Of(message)))
            throw Refused(grainId, grainState.ETag);
        (grainState.ETag, grainState.RecordExists) = (ETagOf(version + 1), true);
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (await letters.FindMessageState(grainId.GetGuidKey()) is null)
        {
            await previous.ClearStateAsync(stateName, grainId, grainState);
            return;
        }
        var version = VersionOf(grainState.ETag);
        if (!await letters.ClearMessageState(grainId.GetGuidKey(), version)) throw Refused(grainId, grainState.ETag);
        // A letter's grain that stored its state before the row kept it may still have it there.
        var before = new GrainState<T>();
        await previous.ReadStateAsync(stateName, grainId, before);
        if (before.RecordExists) await previous.ClearStateAsync(stateName, grainId, before);
        (grainState.ETag, grainState.RecordExists) = (ETagOf(version + 1), false);
    }

    private static string ETagOf(int version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>No ETag: nothing was read from the row (the grain was activated before its batch stored the letter).</summary>
    private static int VersionOf(string? etag) => etag is null ? 0 : int.TryParse(etag, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version
        : throw new InconsistentStateException($"The ETag '{etag}' is not a letter row's version.", "", etag);

    private static InconsistentStateException Refused(GrainId grainId, string? etag) =>
        new($"The letter row of {grainId} is not at version {etag ?? "0"} of its message grain: another activation changed it, or it is gone.", "", etag ?? "");
}
