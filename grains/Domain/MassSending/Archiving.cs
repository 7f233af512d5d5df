using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>What a merge letter looks like in its recipient's case (sag) in the sender's archive. A letter delivered in
/// the bulk lane is archived by its own row in the letter store, so the case is read from two places: the letters the
/// archive holds (those that went through a message grain, with their attempts) and the bulk lane's delivered letters.</summary>
public static class Archiving
{
    public static string Label(string batchLabel, int copy) => copy == 0 ? batchLabel : $"Kopi: {batchLabel}";

    /// <summary>A letter a bulk lane delivered. To a receiver system: one push and the positive receipt that finished it
    /// (a push time not stored is taken as the receipt's). To a citizen's mailbox or the NemSMS queue: no attempt, it
    /// was delivered when it was there.</summary>
    public static ArchivedLetter BulkDelivered(Guid messageUuid, Guid batchId, int row, int copy, string batchLabel,
        LetterLane lane, LetterState state, string? receiverSystemKey, DateTimeOffset? pushedAt, DateTimeOffset deliveredAt) =>
        new(messageUuid, batchId, row, copy, Label(batchLabel, copy), state, deliveredAt,
            lane == LetterLane.ReceiverSystem && receiverSystemKey is not null
                ? [new DeliveryAttempt(1, ReceiverSystemKey.Parse(receiverSystemKey).SystemId, pushedAt ?? deliveredAt, AttemptOutcome.Positive, deliveredAt)]
                : []);

    /// <summary>One case from the archive's letters and the bulk lane's, oldest first; null when neither has any.</summary>
    public static ArchiveCase? Case(ArchiveCase? archived, IReadOnlyList<(RecipientKind Kind, ArchivedLetter Letter)> bulk)
    {
        if (bulk.Count == 0) return archived;
        var created = bulk.Min(b => b.Letter.ArchivedAt);
        return new ArchiveCase(archived?.Kind ?? bulk[0].Kind, archived is null || created < archived.CreatedAt ? created : archived.CreatedAt,
            [.. (archived?.Letters ?? []).Concat(bulk.Select(b => b.Letter)).OrderBy(l => l.ArchivedAt).ThenBy(l => l.MessageUuid)]);
    }
}
