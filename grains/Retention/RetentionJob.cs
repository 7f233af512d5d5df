using DigitalPost.Contracts;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DigitalPost.Retention;

/// <summary>Deletes what each sender's retention period has passed (<see cref="RetentionPeriods"/>): its batches
/// described before the period began, with every letter, archive entry, print job and message grain state of theirs and
/// the batch's own grains' state (its header, its chunks' CSV rows, its partitions); its messages sent one at a time and
/// accepted before then, with their grain state, archive entries, print jobs and documents; and its letters in
/// citizens' mailboxes and the NemSMS queue and its webhook events stored before then. A batch goes whole, a slice of
/// <see cref="RetentionOptions.DeleteSlice"/> letters a statement; the entries other stores hold for its letters go
/// first, so a run cut short leaves nothing that a later run cannot find again.</summary>
public sealed class RetentionJob(
    ILetterStore letters, ICitizenLaneStore lanes, IWebhookOutbox outbox, ISingleMessageStore singles, MessageTraces traces, IGrainStates grainStates,
    RetentionPeriods periods, IOptions<RetentionOptions> options, TimeProvider time, ILogger<RetentionJob> log)
{
    public async Task<RetentionRun> Run(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var done = new List<SenderRetention>();
        foreach (var (sender, days) in periods.Of((await letters.Senders()).Concat(await singles.Senders())))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var before = now - TimeSpan.FromDays(days);
            var result = await Expire(sender, days, before, cancellationToken);
            done.Add(result);
            if (result.Batches + result.MailboxLetters + result.NemSmsLetters + result.WebhookRuns + result.SingleMessages > 0)
                log.LogInformation("Retention: sender {Sender} ({Days} days): {Batches} batches, {Letters} letters, {Singles} single messages, " +
                    "{Archive} archive entries, {Print} print jobs, {Mailbox} mailbox letters, {NemSms} NemSMS, {Webhook} webhook runs deleted",
                    sender, days, result.Batches, result.Letters, result.SingleMessages, result.ArchiveEntries, result.PrintJobs, result.MailboxLetters,
                    result.NemSmsLetters, result.WebhookRuns);
        }
        return new RetentionRun(now, done);
    }

    private async Task<SenderRetention> Expire(string sender, int days, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var slice = Math.Max(1, options.Value.DeleteSlice);
        var batches = await letters.BatchesDescribedBefore(sender, before);
        long letterCount = 0, singleCount = 0;
        var outside = new MessageTraces.Deleted();
        if (batches.Count > 0)
        {
            foreach (var uuids in (await letters.MessageIdsOutsideBulk(batches)).Chunk(slice))
                outside += await traces.Delete(uuids, documentsToo: false);
            for (int deleted; (deleted = await letters.DeleteLetters(batches, slice)) > 0;)
            {
                letterCount += deleted;
                cancellationToken.ThrowIfCancellationRequested();
            }
            // The batch's own grains last: until its letters are gone, its letters' pages are still read through it.
            await grainStates.ForgetBatches(batches);
            await letters.ForgetBatches(batches);
        }
        for (IReadOnlyList<Guid> uuids; (uuids = await singles.AcceptedBefore(sender, before, slice)).Count > 0;)
        {
            // The message's entries first and its index row last, so a run cut short finds the message again.
            outside += await traces.Delete(uuids, documentsToo: true);
            singleCount += await singles.Delete(uuids);
            cancellationToken.ThrowIfCancellationRequested();
        }
        return new SenderRetention(sender, days, before, batches.Count, letterCount, outside.ArchiveEntries, outside.PrintJobs,
            await Drain(() => lanes.DeleteBefore(LetterLane.CitizenMailbox, sender, before, slice)),
            await Drain(() => lanes.DeleteBefore(LetterLane.NemSms, sender, before, slice)),
            await Drain(() => outbox.DeleteBefore(sender, before, slice)), singleCount);
    }

    private static async Task<long> Drain(Func<Task<int>> deleteSlice)
    {
        long total = 0;
        for (int deleted; (deleted = await deleteSlice()) > 0;) total += deleted;
        return total;
    }
}

/// <summary>Erases one recipient's personal data on request: their letters (found by their case key with each sender)
/// and messages sent to them one at a time, the archive cases and entries, print jobs, documents and message grain
/// states of those, their rows in the chunks of the batches that wrote to them, their letters in the mailbox and NemSMS
/// lanes, their notifications of new post, and the registry's row of them (and their number in others' guardians).
/// What a store held is counted.</summary>
public sealed class Erasure(
    ILetterStore letters, IArchiveStore archive, ICitizenLaneStore lanes, ISingleMessageStore singles, MessageTraces traces,
    INotificationStore notifications, IGrainFactory grains, IRecipientRegistryStore registry, RetentionPeriods periods,
    IOptions<MassSendingOptions> massSending)
{
    public async Task<ErasureReport> Erase(RecipientKind kind, string recipientId)
    {
        var caseKeys = new CaseKeys(massSending.Value.ArchiveKey);
        var senders = periods.ConfiguredSenders.Concat(await letters.Senders()).Distinct(StringComparer.Ordinal);
        var cases = senders.Select(s => caseKeys.Of(s, kind, recipientId)).ToList();
        var singleUuids = await singles.To(recipientId);
        var uuids = (await letters.MessageIdsTo(recipientId, cases)).Concat(singleUuids).Distinct().ToList();
        var batchRows = (await Task.WhenAll((await letters.BatchesTo(recipientId, cases))
            .Select(b => grains.GetGrain<IMergeBatchGrain>(b).EraseRecipient(recipientId)))).Sum();
        // Entries of the letters first, then the letters that lead to them, as retention does.
        var traced = await traces.Delete(uuids, documentsToo: true);
        var archived = traced.ArchiveEntries + await archive.DeleteCases(cases);
        var deleted = await letters.EraseRecipient(recipientId, cases) + await singles.Delete(singleUuids);
        var (mailbox, nemSms, notified) = kind == RecipientKind.Cpr
            ? (await lanes.Erase(LetterLane.CitizenMailbox, recipientId), await lanes.Erase(LetterLane.NemSms, recipientId), await notifications.Erase(recipientId))
            : (0, 0, 0);
        var inRegistry = await registry.Erase(recipientId);
        return new ErasureReport(kind, deleted, archived, traced.PrintJobs, mailbox, nemSms, traced.DocumentFiles,
            inRegistry.Citizens, inRegistry.GuardianOf, inRegistry.Companies, inRegistry.PNumbers, traced.MessageStates, batchRows, notified);
    }
}
