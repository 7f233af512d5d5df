using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>One letter of a batch: the row's own letter (copy 0) or a copy of it to a guardian or extra recipient.</summary>
[GenerateSerializer, Alias("dp.LetterRecord")]
public sealed class LetterRecord
{
    [Id(0)] public int Row { get; set; }
    [Id(1)] public int Copy { get; set; }
    [Id(2)] public int Generation { get; set; }
    [Id(3)] public Guid? MessageUuid { get; set; }
    [Id(4)] public LetterState State { get; set; }
    [Id(5)] public DeliveryChannel? Channel { get; set; }
    [Id(6)] public string? ErrorCode { get; set; }
    [Id(7)] public string? ErrorText { get; set; }
    [Id(8)] public string? Remedy { get; set; }
    [Id(9)] public bool Rerouted { get; set; }
    [Id(10)] public RecipientKind Kind { get; set; }
    /// <summary>Kept for the archive case; personal data, never logged.</summary>
    [Id(11)] public string RecipientId { get; set; } = "";
    /// <summary>Set while the letter is in the bulk lane: pushed without a message grain to the receiver system with
    /// this key ("cvr/systemId"), awaiting its receipt. Cleared when its message grain takes it over.</summary>
    [Id(12)] public string? BulkSystem { get; set; }
    /// <summary>When the bulk lane pushed it, and when its positive receipt came.</summary>
    [Id(13)] public DateTimeOffset? PushedAt { get; set; }
    [Id(14)] public DateTimeOffset? DeliveredAt { get; set; }
    /// <summary>In its recipient's case in the sender's archive.</summary>
    [Id(15)] public bool Archived { get; set; }
    /// <summary>What moves it: its message grain, or one of the bulk lanes (then <see cref="BulkSystem"/> names the
    /// receiver system, or the letter is in a citizen's mailbox or the NemSMS queue).</summary>
    [Id(16)] public LetterLane Lane { get; set; }
    /// <summary>The partition of its batch that owns it (stored with it, so a receipt reaches that partition directly).</summary>
    [Id(17)] public int Partition { get; set; }

    public LetterRecord Clone() => (LetterRecord)MemberwiseClone();

    public static long KeyOf(int row, int copy) => ((long)row << 16) | (uint)copy;
    public long Key => KeyOf(Row, Copy);

    public LetterView ToView() => new(Row, Copy, MessageUuid, State, Channel, ErrorCode, ErrorText, Remedy);
}

/// <summary>The bookkeeping of a batch's letters: which state each is in, the counts the sender sees, and which may be
/// retried. Changes come from the letters' messages, possibly repeated; a letter never leaves a final state by a
/// change, only by a retry that gives it a new message.</summary>
public sealed class BatchLedger(Dictionary<long, LetterRecord> letters)
{
    public IReadOnlyDictionary<long, LetterRecord> Letters => letters;

    public LetterRecord Add(LetterRecord letter) => letters[letter.Key] = letter;

    /// <summary>Applies a change from a message; false when it changes nothing (repeated, stale, or unknown).</summary>
    public bool Apply(LetterStatusChanged change)
    {
        if (!letters.TryGetValue(LetterRecord.KeyOf(change.Letter.Row, change.Letter.Copy), out var letter)) return false;
        if (letter.MessageUuid != change.MessageUuid || letter.State == change.State || letter.State.IsFinal()) return false;
        // Print steps only move forward even if a repeat overtakes.
        if (letter.State is LetterState.Printed && change.State is LetterState.SentToPrint) return false;
        letter.State = change.State;
        letter.Rerouted |= change.Rerouted;
        (letter.ErrorCode, letter.ErrorText) = (change.ErrorCode, change.ErrorText);
        letter.Remedy = change.State == LetterState.Failed ? LetterColumns.FailedRemedy : null;
        return true;
    }

    /// <summary>Counts over all letters made so far, plus accepted rows not yet dispatched (pending).</summary>
    public BatchCounts Counts(int acceptedRows, int rejectedRows, int undispatchedRows) => Tally(acceptedRows, rejectedRows, undispatchedRows).Counts;

    /// <summary>The counts, and how many letters there are (made, plus one per undispatched row) and how many of them
    /// are final: one pass over the letters, as a status read of a million-letter batch must be. Undispatched rows are
    /// pending, or cancelled (final) once the batch is <paramref name="cancelled"/>: their letters will never be made.</summary>
    public (BatchCounts Counts, int Letters, int Final) Tally(int acceptedRows, int rejectedRows, int undispatchedRows, bool cancelled = false)
    {
        int queued = 0, failing = 0, delivered = 0, virk = 0, print = 0, sms = 0, returned = 0, failed = 0, rerouted = 0, copies = 0;
        var (pending, cancelledLetters, final) = cancelled ? (0, undispatchedRows, undispatchedRows) : (undispatchedRows, 0, 0);
        foreach (var l in letters.Values)
        {
            if (l.Copy > 0) copies++;
            if (l.Rerouted) rerouted++;
            if (l.State.IsFinal()) final++;
            switch (l.State)
            {
                case LetterState.Pending: pending++; break;
                case LetterState.Queued: queued++; break;
                case LetterState.Failing: failing++; break;
                case LetterState.Delivered: delivered++; break;
                case LetterState.DeliveredToVirk: virk++; break;
                case LetterState.SentToPrint or LetterState.Printed or LetterState.HandedToPostalService: print++; break;
                case LetterState.SentAsNemSms: sms++; break;
                case LetterState.Returned: returned++; break;
                case LetterState.Failed: failed++; break;
                case LetterState.Cancelled: cancelledLetters++; break;
            }
        }
        return (new BatchCounts(acceptedRows, rejectedRows, pending, queued, failing, delivered, virk, print, sms, returned, failed, rerouted, copies, cancelledLetters),
            letters.Count + undispatchedRows, final);
    }

    /// <summary>Of the rows of these chunks, those with no letter made yet: they count as one pending letter each. A
    /// chunk whose letters were made by a dispatch that died before it recorded the chunk dispatched is not counted twice.</summary>
    public int RowsWithoutLetters(IEnumerable<PartitionChunk> chunks)
    {
        var undispatched = chunks.Where(c => c.Rows > 0).ToList();
        if (undispatched.Count == 0) return 0;
        var (first, made) = (undispatched.Min(c => c.FirstRow), 0);
        foreach (var l in letters.Values)
            if (l.Copy == 0 && l.Row >= first && undispatched.Any(c => c.FirstRow <= l.Row && l.Row <= c.LastRow)) made++;
        return undispatched.Sum(c => c.Rows) - made;
    }

    public IEnumerable<LetterRecord> InOrder(bool errorsOnly) => letters.Values.Where(l => !errorsOnly || IsError(l.State)).OrderBy(l => l.Key);

    /// <summary>Whether the letter is listed when only errors are asked for: failed, returned, or in the resend flow.</summary>
    public static bool IsError(LetterState state) => state.IsFailure() || state == LetterState.Failing;

    /// <summary>Not yet sent: pending, and without a message id. A letter gets its message id (stored with it) the moment
    /// before it is entered in a lane, pushed or given to its message grain, so one without is in no lane.</summary>
    public static bool Unsent(LetterRecord letter) => letter.State == LetterState.Pending && letter.MessageUuid is null;

    /// <summary>Cancels the letters not yet sent (<see cref="Unsent"/>); returns them.</summary>
    public IReadOnlyList<LetterRecord> CancelUnsent()
    {
        var cancelled = letters.Values.Where(Unsent).ToList();
        foreach (var l in cancelled)
        {
            l.State = LetterState.Cancelled;
            (l.ErrorCode, l.ErrorText, l.Remedy) = (CancelledCode, CancelledText, null);
        }
        return cancelled;
    }

    public const string CancelledCode = "CANCELLED";
    public const string CancelledText = "cancelled by the sender before it was sent";

    /// <summary>Puts failed and returned letters back to pending. A letter that had a message gets the next generation,
    /// and so a new message id; one that never had a message keeps its id.</summary>
    public IReadOnlyList<LetterRecord> ResetFailed()
    {
        var reset = letters.Values.Where(l => l.State.IsFailure()).ToList();
        foreach (var l in reset)
        {
            if (l.MessageUuid is not null) l.Generation++;
            l.MessageUuid = null;
            l.State = LetterState.Pending;
            l.Channel = null;
            (l.Lane, l.BulkSystem) = (LetterLane.MessageGrain, null);
            l.ErrorCode = l.ErrorText = l.Remedy = null;
        }
        return reset;
    }
}
