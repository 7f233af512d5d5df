using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

/// <summary>Stores a partition's changed letters in the letter store, one save after another: a later save must not be
/// overtaken by an earlier one's older copies. A letter made and never stored goes in by a plain insert.</summary>
internal sealed class LetterSaver(ILetterStore store, Guid batchId, string senderId, string label, BatchLedger ledger, Func<LetterRecord, string> caseKeyOf)
{
    /// <summary>Letters changed since they were last stored.</summary>
    private readonly HashSet<long> _changed = [];
    /// <summary>Letters made by this activation and never stored: their first save is a plain insert.</summary>
    private readonly HashSet<long> _unsaved = [];
    private Task _lastSave = Task.CompletedTask;
    private bool _described;

    public bool HasChanges => _changed.Count > 0;

    public void Changed(long key) => _changed.Add(key);

    public void Made(long key) => _unsaved.Add(key);

    /// <summary>Stored by a save of its own (as it is about to be): a save of the changed letters must not store it as it was.</summary>
    public void Forget(long key) => _changed.Remove(key);

    /// <summary>Stores <paramref name="these"/> (copies of letters as they are about to be), or else the letters changed
    /// since the last save, after any save under way.</summary>
    public Task Save(IReadOnlyList<LetterRecord>? these = null) => _lastSave = SaveAfter(_lastSave, these);

    private async Task SaveAfter(Task previous, IReadOnlyList<LetterRecord>? these)
    {
        try { await previous; }
        catch { /* that save's caller saw its failure; its letters are marked changed again */ }
        if (these is null && _changed.Count == 0) return;
        var letters = these?.ToList() ?? _changed.Select(k => ledger.Letters[k].Clone()).ToList();
        if (these is null) _changed.Clear();
        var fresh = letters.Where(l => _unsaved.Contains(l.Key)).ToList();
        try
        {
            if (!_described)
            {
                // The label its letters carry in the archive, before the first of them can be delivered in bulk.
                await store.Describe(batchId, senderId, label);
                _described = true;
            }
            await Task.WhenAll(store.Insert(batchId, fresh, caseKeyOf), store.Save(batchId, [.. letters.Where(l => !_unsaved.Contains(l.Key))], caseKeyOf));
            foreach (var l in fresh) _unsaved.Remove(l.Key);
        }
        catch
        {
            foreach (var l in letters) _changed.Add(l.Key);
            throw;
        }
    }
}
