using Orleans.Storage;

namespace DigitalPost.Retention;

/// <summary>What <see cref="Contracts.IForgettable.Forget"/> does in every grain that has it: the stored state is cleared,
/// the state in memory emptied, and the activation leaves, so that nothing of the state stays where a later call could
/// find it.</summary>
public static class StateForgetting
{
    public static async Task<bool> Forget<T>(IPersistentState<T> state, IGrainBase grain) where T : new()
    {
        // Retention deletes message grains' rows in bulk first: the activation's version is then behind the store's,
        // which is the deletion this step would make.
        var stored = state.RecordExists;
        try { await state.ClearStateAsync(); }
        catch (InconsistentStateException) { }
        state.State = new T();
        grain.DeactivateOnIdle();
        return stored;
    }
}
