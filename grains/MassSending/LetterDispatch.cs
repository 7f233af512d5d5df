using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Grains;

/// <summary>Makes a partition's letters from its rows and sends them: the recipient check decides each letter's channel,
/// and each goes its lane (a citizen's mailbox, NemSMS, print, a receiver system in bulk, or its message grain). Every
/// letter is stored before it goes out, so that its receipt finds it.</summary>
internal sealed class LetterDispatch(PartitionContext partition, LaneEntry lanes, BulkLane bulk)
{
    /// <summary>The letters of these rows: each row's own, and copies to guardians of minors and to the row's extra
    /// recipients. Letters made before (an interrupted dispatch) are kept as they are. Also returns what the registry
    /// said of each row's own recipient, so sending need not ask again.</summary>
    public async Task<(List<(BatchRow Row, LetterRecord Letter)> Letters, Dictionary<RecipientQuery, RecipientInfo> Known)> Make(IReadOnlyList<BatchRow> rows)
    {
        var infos = await partition.Registry.Lookup([.. rows.Select(r => PartitionContext.Query(r, r.Kind, r.RecipientId))]);
        var known = new Dictionary<RecipientQuery, RecipientInfo>();
        var letters = new List<(BatchRow, LetterRecord)>();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var copies = new List<string>();
            if (partition.Header.Options.CopyToGuardians && infos[i].IsMinor) copies.AddRange(infos[i].Guardians);
            copies.AddRange(row.Copies.Where(c => !copies.Contains(c)));
            var recipients = new List<(RecipientKind Kind, string Id)> { (row.Kind, infos[i].Id) };
            known[PartitionContext.Query(row, row.Kind, infos[i].Id)] = infos[i];
            recipients.AddRange(copies.Select(c => (c.Length == 8 ? RecipientKind.Cvr : RecipientKind.Cpr, c)));
            for (var copy = 0; copy < recipients.Count; copy++)
            {
                if (!partition.Ledger.Letters.TryGetValue(LetterRecord.KeyOf(row.Row, copy), out var letter))
                {
                    // Not marked changed: sending it marks it, once its channel is known, and its first save is an insert.
                    letter = partition.Ledger.Add(new LetterRecord
                    {
                        Row = row.Row, Copy = copy, Kind = recipients[copy].Kind, RecipientId = recipients[copy].Id, Partition = partition.Partition,
                    });
                    partition.Saver.Made(letter.Key);
                }
                if (letter.State == LetterState.Pending) letters.Add((row, letter));
            }
        }
        return (letters, known);
    }

    /// <summary>Checks each letter's recipient and sends the letters that go out. Recipients in <paramref name="known"/>
    /// are not looked up again.</summary>
    public async Task Send(List<(BatchRow Row, LetterRecord Letter)> letters, Dictionary<RecipientQuery, RecipientInfo>? known = null)
    {
        if (letters.Count == 0) return;
        var queries = letters.Select(x => PartitionContext.Query(x.Row, x.Letter.Kind, x.Letter.RecipientId, x.Letter.Copy)).ToList();
        var infoOf = new Dictionary<RecipientQuery, RecipientInfo>(known ?? []);
        var missing = queries.Where(q => !infoOf.ContainsKey(q)).Distinct().ToList();
        if (missing.Count > 0)
            foreach (var (query, info) in missing.Zip(await partition.Registry.Lookup(missing))) infoOf[query] = info;
        var outgoing = new List<Outgoing>();
        for (var i = 0; i < letters.Count; i++)
        {
            var (row, letter) = letters[i];
            if (!Sendable(letter)) continue;
            var recipient = infoOf[queries[i]];
            var decision = RecipientCheck.Decide(recipient, partition.Header.Options.Channel);
            if (decision.Returned is { } why)
            {
                partition.Fail(letter, LetterState.Returned, why.Code, why.Text, why.Remedy);
                continue;
            }
            letter.Channel = decision.Channel;
            letter.MessageUuid = BatchIds.Letter(partition.BatchId, row.Row, letter.Copy, letter.Generation);
            letter.Partition = partition.Partition;
            outgoing.Add(new Outgoing(row, letter, recipient, await bulk.Target(recipient, letter.Channel!.Value)));
        }

        var now = partition.Time.GetUtcNow();
        await lanes.Enter(outgoing, now);
        // Handed to its message grain while this dispatch looked it up or entered the other lanes (a receipt to an
        // earlier push of it): that grain owns it now. Checked in the same turn as the assignment to the bulk lane.
        outgoing.RemoveAll(o => !Sendable(o.Letter));
        // The rest are marked changed only now that the lanes have taken and stored theirs: a flush during the lanes'
        // appends would otherwise have stored those letters as they were, and the lanes' own save would have written each
        // row a second time. A crash before that save leaves no row; the next activation makes the letter again with the
        // same id, and its append changes nothing.
        foreach (var o in outgoing) partition.Saver.Changed(o.Letter.Key);
        bulk.Assign(outgoing, now);
        await partition.Saver.Save();
        await bulk.Queue(outgoing, now);

        using var gate = new SemaphoreSlim(partition.Options.DispatchConcurrency);
        await Task.WhenAll(outgoing.Where(o => o.Target is null).Select(async o =>
        {
            await gate.WaitAsync();
            try { await bulk.Submit(o); }
            finally { gate.Release(); }
        }));
    }

    /// <summary>Still the partition's to send: never sent, or in the bulk lane with its push unknown. Not a letter its
    /// message grain has taken over.</summary>
    public static bool Sendable(LetterRecord letter) =>
        letter.State == LetterState.Pending || letter.BulkSystem is not null && letter.State == LetterState.Queued;
}
