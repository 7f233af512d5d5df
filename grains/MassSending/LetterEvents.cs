using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

/// <summary>Where a partition's letter changes go after its ledger: every change to the sender's webhook outbox, and
/// letters delivered through their message grains to their recipients' cases in the archive. Both in bulk, on the
/// partition's flush. Neither is stored with the letters: after a crash the partition archives its delivered letters
/// again (the archive drops repeats), and the webhook's events carry ids the sender drops repeats by.</summary>
internal sealed class LetterEvents(PartitionContext partition, IArchiveStore archive, CaseKeys caseKeys)
{
    private List<LetterStatusChanged> _toWebhook = [];
    /// <summary>Delivered letters of message grains not yet in their recipients' cases. A letter delivered in a bulk lane
    /// is in its case already, by its own row in the letter store.</summary>
    private readonly Queue<(long Key, DateTimeOffset At, IReadOnlyList<DeliveryAttempt> Receipts)> _toArchive = [];

    public int ArchiveQueue => _toArchive.Count;

    public bool Pending => _toWebhook.Count > 0 || _toArchive.Count > 0;

    public void Webhook(LetterStatusChanged change) => _toWebhook.Add(change);

    /// <summary>A letter's change, already in the ledger: to the webhook, and to the archive once delivered.</summary>
    public void Add(LetterStatusChanged change)
    {
        _toWebhook.Add(change);
        var letter = partition.Ledger.Letters[LetterRecord.KeyOf(change.Letter.Row, change.Letter.Copy)];
        if (ToArchive(letter)) _toArchive.Enqueue((letter.Key, change.At, change.Attempts ?? []));
    }

    /// <summary>After a restart: every final letter's event again. The activation before this one may have died with
    /// events it had heard (a bulk receipt stores the letter before its partition hears it) but not yet passed on; the
    /// sender drops the repeats by their ids, which name the letter, its message and its state.</summary>
    public void ReplayFinal()
    {
        foreach (var letter in partition.Ledger.Letters.Values.Where(l => l.State.IsFinal()).OrderBy(l => l.Key))
            _toWebhook.Add(new LetterStatusChanged(partition.RefOf(letter), letter.MessageUuid ?? Guid.Empty, letter.State,
                letter.DeliveredAt ?? partition.Plan.AcceptedAt, letter.ErrorCode, letter.ErrorText));
    }

    public string CaseKeyOf(LetterRecord letter) => caseKeys.Of(partition.Header.SenderId, letter.Kind, letter.RecipientId);

    /// <summary>After a restart: delivered letters whose archiving may not have been stored go to the archive again,
    /// with their receipts from their message grains.</summary>
    public async Task Requeue()
    {
        foreach (var letter in partition.Ledger.Letters.Values.Where(ToArchive).OrderBy(l => l.Key))
            if (await partition.Grains.GetGrain<IMessageGrain>(letter.MessageUuid!.Value).GetStatus() is { } message)
                _toArchive.Enqueue((letter.Key, message.History.LastOrDefault()?.At ?? partition.Plan.AcceptedAt, message.Attempts));
    }

    public async Task Flush()
    {
        if (_toWebhook.Count > 0)
        {
            var changes = _toWebhook;
            _toWebhook = [];
            try { await partition.Grains.GetGrain<ISenderGrain>(partition.Header.SenderId).Notify(partition.BatchId, partition.Header.SenderBatchId, changes); }
            catch
            {
                // The sender grain's silo may be gone: the next flush passes them on again, ahead of what came
                // meanwhile. If the outbox had stored them after all, the sender drops the repeats by their ids.
                changes.AddRange(_toWebhook);
                _toWebhook = changes;
                throw;
            }
        }
        if (_toArchive.Count > 0)
        {
            var items = _toArchive.Take(partition.Options.ArchiveBatch).ToList();
            await archive.Append([.. items.Select(i => EntryOf(partition.Ledger.Letters[i.Key], i.At, i.Receipts))]);
            foreach (var (key, _, _) in items)
            {
                _toArchive.Dequeue();
                partition.Ledger.Letters[key].Archived = true;
            }
        }
    }

    /// <summary>Delivered through its message grain and not archived yet.</summary>
    private static bool ToArchive(LetterRecord letter) => !letter.Archived && letter.Lane == LetterLane.MessageGrain &&
        letter.State is LetterState.Delivered or LetterState.DeliveredToVirk or LetterState.HandedToPostalService or LetterState.SentAsNemSms;

    private ArchiveEntry EntryOf(LetterRecord letter, DateTimeOffset at, IReadOnlyList<DeliveryAttempt> receipts) =>
        new(CaseKeyOf(letter), letter.Kind, new ArchivedLetter(letter.MessageUuid!.Value, partition.BatchId, letter.Row, letter.Copy,
            Archiving.Label(partition.Header.Options.Label, letter.Copy), letter.State, at, receipts));
}
