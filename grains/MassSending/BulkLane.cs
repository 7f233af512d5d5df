using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.MassSending;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;
using DigitalPost.Ngdp;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Grains;

/// <summary>A partition's letters to organisations' receiver systems in bulk, and their hand-over to message grains:
/// pushed several to a push where the system takes that, finished by their positive receipts straight in the letter
/// store, and given to their message grains (which run the resend flow) when a push fails or a receipt is negative or
/// overdue. A letter that goes no bulk way at all is submitted to its message grain here too.</summary>
internal sealed class BulkLane(PartitionContext partition, ILetterStore store, ReceiverSystemDelivery receiverSystems, LetterRendering rendering, ResendFlowOptions flow)
{
    /// <summary>Routes per organisation, asked once per activation: a deactivated system's letters fail their push or
    /// receipt and are then routed anew by their message grains.</summary>
    private readonly Dictionary<string, DeliveryTarget> _routes = [];
    /// <summary>One key string per organisation's system, shared by its letters: a million letters, fifty strings.</summary>
    private readonly Dictionary<string, string> _systemKeys = [];
    /// <summary>Letters stored and waiting to fill a push to their receiver system; the rest go when the dispatch has
    /// no more rows.</summary>
    private readonly Dictionary<string, List<Outgoing>> _toPush = [];
    /// <summary>Letters pushed by this activation and awaiting their receipts, with the push's time and target.</summary>
    private readonly Dictionary<long, (DateTimeOffset PushedAt, DeliveryTarget Target)> _awaiting = [];
    private SemaphoreSlim? _pushes;

    /// <summary>Pushed by this activation: its receipt may still come. One pushed by an activation that is gone is
    /// pushed again (receivers take a repeat by its id).</summary>
    public bool Awaits(long key) => _awaiting.ContainsKey(key);

    /// <summary>The receiver system a letter goes to in bulk, or null when it goes another way: only organisations'
    /// Digital Post routed to an active receiver system and due now goes in bulk.</summary>
    public async Task<DeliveryTarget?> Target(RecipientInfo recipient, DeliveryChannel channel)
    {
        var options = partition.Header.Options;
        if (options.PerMessageDelivery || channel != DeliveryChannel.DigitalPost || recipient.Kind != RecipientKind.Cvr) return null;
        if (options.ValoerDate is { } valoer && valoer > partition.Time.GetUtcNow()) return null;
        if (!_routes.TryGetValue(recipient.Id, out var route))
            _routes[recipient.Id] = route = (await Organisation(recipient.Id).Route(new RouteRequest(null))).Target;
        return route.Kind == DeliveryTargetKind.ReceiverSystem ? route : null;
    }

    /// <summary>Puts the letters with a target in the bulk lane, to be stored before they are pushed.</summary>
    public void Assign(IEnumerable<Outgoing> outgoing, DateTimeOffset now)
    {
        foreach (var o in outgoing.Where(o => o.Target is not null))
        {
            o.Letter.BulkSystem = _systemKeys.TryGetValue(o.Recipient.Id, out var key) ? key
                : _systemKeys[o.Recipient.Id] = ReceiverSystemKey.Of(o.Recipient.Id, o.Target!.ReceiverSystemId!);
            (o.Letter.Lane, o.Letter.State, o.Letter.PushedAt) = (LetterLane.ReceiverSystem, LetterState.Queued, now);
            // Marked again: a flush during the awaits before may have stored this letter as it was then.
            partition.Saver.Changed(o.Letter.Key);
        }
    }

    /// <summary>Letters stored in the bulk lane: pushed as soon as a push to their system is full.</summary>
    public async Task Queue(IEnumerable<Outgoing> outgoing, DateTimeOffset now)
    {
        foreach (var o in outgoing.Where(o => o.Target is not null))
        {
            if (!_toPush.TryGetValue(o.Letter.BulkSystem!, out var waiting)) _toPush[o.Letter.BulkSystem!] = waiting = [];
            waiting.Add(o);
            _awaiting[o.Letter.Key] = (now, o.Target!);
            if (waiting.Count >= o.Target!.MaxMessagesPerPush) await PushWaiting(o.Letter.BulkSystem!);
        }
    }

    public async Task PushWaiting(string? system = null)
    {
        foreach (var key in system is null ? _toPush.Keys.ToList() : [system])
        {
            if (!_toPush.Remove(key, out var waiting)) continue;
            // A letter taken over by its message grain meanwhile is that grain's to push.
            var still = waiting.Where(o => o.Letter.BulkSystem is not null && !o.Letter.State.IsFinal()).ToList();
            foreach (var push in still.Chunk(Math.Max(1, waiting[0].Target!.MaxMessagesPerPush))) await StartPush(push);
        }
    }

    /// <summary>Pushes one group off the grain's turn (serialising and sending is the costly part) and comes back to the
    /// turn with the outcome. At most <see cref="MassSendingOptions.PushConcurrency"/> at a time.</summary>
    private async Task StartPush(Outgoing[] push)
    {
        _pushes ??= new SemaphoreSlim(partition.Options.PushConcurrency);
        await _pushes.WaitAsync();
        var target = push[0].Target!;
        var now = partition.Time.GetUtcNow();
        foreach (var o in push) _awaiting[o.Letter.Key] = (now, target);
        var letters = push.Select(o => (o, Message: o.MessageOf(partition))).ToList();
        var system = push[0].Letter.BulkSystem!;
        var sending = Task.Run(() =>
        {
            var envelopes = letters.Select(l => new PushEnvelope(l.Message.Header.MessageUuid, target.ReceiverSystemId!, 1, ForProtocol(l.o, l.Message, target))).ToList();
            return receiverSystems.Deliver(system, target, envelopes, flow.PushTimeout);
        });
        _ = AfterPush(push, sending);
    }

    /// <summary>MeMo has no reference to a document elsewhere: a system MeMos are pushed to gets the letter laid out now,
    /// off the grain's turn, rather than when it is opened (a pull system's letter is laid out when it is fetched).</summary>
    private Message ForProtocol(Outgoing o, Message message, DeliveryTarget target) =>
        target.Protocol != ReceiverProtocol.RestPush ? message : MemoMapping.WithLetterPdf(message, rendering.Render(partition.Header, o.Row, o.Recipient));

    private async Task AfterPush(Outgoing[] push, Task<PushResult> sending)
    {
        try
        {
            var result = await sending;
            if (result.Accepted) return;
            partition.Log.LogInformation("Bulk push of {Count} letters of batch {BatchId} to {System} failed ({Code}); their message grains take over",
                push.Length, partition.BatchId, push[0].Target!.ReceiverSystemId, result.ErrorCode);
            // A failed push is no attempt the receiver saw: the message grains start afresh and run the resend flow.
            // Only the letters the hand-over moved are theirs; a receipt of an earlier push may have finished one first.
            var failed = push.Where(o => _awaiting.Remove(o.Letter.Key) && o.Letter.BulkSystem is not null && !o.Letter.State.IsFinal()).ToList();
            var taken = await store.HandOver([.. failed.Select(o => o.Letter.MessageUuid!.Value)]);
            var submitted = failed.Where(o => taken.Contains(o.Letter.MessageUuid!.Value)).ToList();
            foreach (var o in submitted) TakenOver(o.Letter);
            await Task.WhenAll(submitted.Select(Submit));
        }
        catch (Exception e)
        {
            // The letters stay queued in bulk; the next dispatch (the safety-net wake-up) pushes them again.
            foreach (var o in push) _awaiting.Remove(o.Letter.Key);
            partition.Log.LogWarning(e, "Bulk push of batch {BatchId} was interrupted; it is pushed again", partition.BatchId);
        }
        finally
        {
            _pushes!.Release();
        }
    }

    /// <summary>Gives a letter that goes no bulk way to its message grain.</summary>
    public async Task Submit(Outgoing o)
    {
        var letter = o.Letter;
        try
        {
            // Duplicate or Conflict: this letter's message exists from an interrupted dispatch; it is the same letter.
            await partition.Grains.GetGrain<IMessageGrain>(letter.MessageUuid!.Value).Submit(o.MessageOf(partition));
            if (letter.State == LetterState.Pending) letter.State = LetterState.Queued;
        }
        catch (ValidationException e)
        {
            partition.Fail(letter, LetterState.Failed, "INVALID", e.Message, "correct the batch's options or the row and send it again");
        }
        partition.Saver.Changed(letter.Key);
    }

    /// <summary>A positive receipt of a letter pushed by this activation came.</summary>
    public void Delivered(long key) => _awaiting.Remove(key);

    /// <summary>Gives a bulk-lane letter to its message grain, with the push it had and the receipt it got (none when
    /// the receipt is overdue). The letter store's conditional hand-over decides: a receipt that finished the letter
    /// first keeps it delivered in the bulk lane; otherwise the row names the message grain, and from then on this
    /// letter's receipts go there. A letter handed over before (by an activation that died before its grain heard) is
    /// given again: taking it over is idempotent.</summary>
    public async Task HandOver(LetterRecord letter, BusinessReceipt? receipt)
    {
        var uuid = letter.MessageUuid!.Value;
        if (!(await store.HandOver([uuid])).Contains(uuid))
        {
            var stored = await store.Find(uuid);
            if (stored is { Delivered: true, ReceiverSystemKey: not null })
            {
                _awaiting.Remove(letter.Key);
                partition.Moved(new LetterStatusChanged(partition.RefOf(letter), uuid, LetterState.Delivered, partition.Time.GetUtcNow()), partition.Time.GetUtcNow());
                return;
            }
            if (stored is not { Lane: LetterLane.MessageGrain }) return;
        }
        TakenOver(letter);
        var row = await partition.FindRow(letter.Row);
        if (row is null) return;
        var (pushedAt, target) = _awaiting.Remove(letter.Key, out var awaited) ? awaited
            : (partition.Time.GetUtcNow(), (await Organisation(letter.RecipientId).Route(new RouteRequest(null))).Target);
        var recipient = (await partition.Registry.Lookup([PartitionContext.Query(row, letter.Kind, letter.RecipientId, letter.Copy)]))[0];
        var message = new Outgoing(row, letter, recipient, target).MessageOf(partition);
        await partition.Grains.GetGrain<IMessageGrain>(uuid).TakeOver(message, target, pushedAt, receipt);
    }

    /// <summary>The ledger follows the row: the letter is its message grain's. Marked changed so that a save under way
    /// with the bulk lane's view is followed by this one (the store keeps the hand-over either way).</summary>
    private void TakenOver(LetterRecord letter)
    {
        (letter.BulkSystem, letter.Lane) = (null, LetterLane.MessageGrain);
        partition.Saver.Changed(letter.Key);
    }

    /// <summary>Letters whose receipt is overdue go to their message grains, which wait out the receipt's deadline and
    /// then run the resend flow. <paramref name="catchUp"/> first takes receipts the partition has not heard of.</summary>
    public async Task HandOverOverdue(Func<Task<int>> catchUp)
    {
        var overdue = partition.Time.GetUtcNow() - flow.ReceiptTimeout;
        if (!_awaiting.Values.Any(a => a.PushedAt < overdue)) return;
        await catchUp();
        foreach (var key in _awaiting.Where(a => a.Value.PushedAt < overdue).Select(a => a.Key).ToList())
            if (partition.Ledger.Letters[key] is { BulkSystem: not null } letter && !letter.State.IsFinal()) await HandOver(letter, null);
            else _awaiting.Remove(key);
    }

    private IOrganisationGrain Organisation(string cvr) => partition.Grains.GetGrain<IOrganisationGrain>(cvr);
}
