using System.Reflection;
using Orleans.Serialization;
using Orleans.Storage;

namespace DigitalPost.Infrastructure;

/// <summary>Marks the state of a reentrant grain that changes collections in its state while a write of it may be under
/// way: <see cref="SnapshotGrainStorage"/> writes a copy of it.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class SnapshotOnWriteAttribute : Attribute;

/// <summary>Grain storage that hands the storage under it a copy of a <see cref="SnapshotOnWriteAttribute"/> state,
/// taken when the write is asked for. The ADO.NET provider serialises the state only after its first await, off the
/// grain's scheduler, while a reentrant grain (a merge batch taking chunks, the e-mail outbox, the print queue) goes on
/// changing the collections in its state: that write failed with "collection was modified", and could have stored
/// half of a change. Other states are passed as they are: copying costs, and a grain that waits for its writes
/// within its turn does not need it.</summary>
public sealed class SnapshotGrainStorage(IGrainStorage inner, DeepCopier copier) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (!Marked<T>.Value)
        {
            await inner.WriteStateAsync(stateName, grainId, grainState);
            return;
        }
        var snapshot = new GrainState<T>(copier.Copy(grainState.State), grainState.ETag) { RecordExists = grainState.RecordExists };
        await inner.WriteStateAsync(stateName, grainId, snapshot);
        (grainState.ETag, grainState.RecordExists) = (snapshot.ETag, snapshot.RecordExists);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);

    private static class Marked<T>
    {
        public static readonly bool Value = typeof(T).GetCustomAttribute<SnapshotOnWriteAttribute>() is not null;
    }
}
