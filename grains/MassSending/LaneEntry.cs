using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

/// <summary>The entry of a partition's letters into the lanes that take them in bulk outside receiver systems: the
/// citizens' Digital Post mailboxes, the NemSMS queue and the print queue.</summary>
internal sealed class LaneEntry(PartitionContext partition, ICitizenLaneStore citizens, IPrintStore print, TimeSpan printAfter)
{
    /// <summary>Appends the letters their lanes take to the mailboxes, the NemSMS queue or the print queue, then stores
    /// them in the state their lane gives them. A crash in between leaves them pending, and the append they get again
    /// changes nothing. Taken out of <paramref name="outgoing"/>.</summary>
    public async Task Enter(List<Outgoing> outgoing, DateTimeOffset now)
    {
        var header = partition.Header;
        var waitsForValoer = header.Options.ValoerDate is { } valoer && valoer > now;
        var lanes = outgoing.Where(o => o.Target is null)
            .GroupBy(o => Lanes.Of(o.Letter.Channel!.Value, o.Letter.Kind, header.Options.PerMessageDelivery, waitsForValoer))
            .Where(lane => lane.Key != LetterLane.MessageGrain)
            .ToList();
        var entered = new List<(LetterRecord Letter, LetterRecord Next)>();
        foreach (var lane in lanes)
        {
            if (lane.Key == LetterLane.Print)
                await print.Enqueue([.. lane.Select(o => new QueuedPrint(new PrintJob(o.Letter.MessageUuid!.Value, o.Recipient.Address,
                    1 + LetterFactory.Attachments(header, o.Row).Count(), partition.RefOf(o.Letter)), MessageStatus.SentToPrint, now + printAfter))]);
            else
            {
                // Before the letters land: the notifier's durable wake-up is then there for them, whatever happens after.
                if (lane.Key == LetterLane.CitizenMailbox) await partition.Grains.GetGrain<INotifierGrain>(0).Start();
                await citizens.Append(lane.Key, [.. lane.Select(o => new CitizenLetter(o.Letter.MessageUuid!.Value, o.Letter.RecipientId,
                    header.SenderId, Archiving.Label(header.Options.Label, o.Letter.Copy), now))]);
            }
            foreach (var letter in lane.Select(o => o.Letter))
            {
                var next = letter.Clone();
                (next.Lane, next.State, next.PushedAt) = (lane.Key, Lanes.Entered(lane.Key), now);
                if (next.State.IsFinal()) next.DeliveredAt = now;
                entered.Add((letter, next));
                // Stored below as it is about to be; a flush meanwhile must not store it as it was.
                partition.Saver.Forget(letter.Key);
            }
        }
        if (entered.Count == 0) return;
        // Stored before the partition counts them: a letter counted is a letter whose row says so.
        await partition.Saver.Save([.. entered.Select(e => e.Next)]);
        foreach (var (letter, next) in entered)
        {
            (letter.Lane, letter.State, letter.PushedAt, letter.DeliveredAt) = (next.Lane, next.State, next.PushedAt, next.DeliveredAt);
            partition.Events.Add(new LetterStatusChanged(partition.RefOf(letter), letter.MessageUuid!.Value, letter.State, now));
        }
        outgoing.RemoveAll(o => o.Letter.Lane is LetterLane.CitizenMailbox or LetterLane.NemSms or LetterLane.Print);
        if (lanes.Any(lane => lane.Key == LetterLane.Print))
            // Told once the letters are stored: it moves their rows on.
            await partition.Grains.GetGrain<IPrintQueueGrain>(0).Queued(now + printAfter);
    }
}
