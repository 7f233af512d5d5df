using Orleans.Serialization;
using Orleans.Storage;

namespace DigitalPost.Infrastructure;

/// <summary>Grain storage that hands the storage under it a copy of the state taken when the write is asked for.
/// The ADO.NET provider serialises the state only after its first await, off the grain's scheduler, while a reentrant
/// grain (a merge batch taking chunks, the e-mail outbox, the print queue) goes on changing the collections in its
/// state: that write failed with "collection was modified", and could have stored half of a change.</summary>
public sealed class SnapshotGrainStorage(IGrainStorage inner, DeepCopier copier) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var snapshot = new GrainState<T>(copier.Copy(grainState.State), grainState.ETag) { RecordExists = grainState.RecordExists };
        await inner.WriteStateAsync(stateName, grainId, snapshot);
        (grainState.ETag, grainState.RecordExists) = (snapshot.ETag, snapshot.RecordExists);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);
}
