using DigitalPost.Contracts;
using DigitalPost.Grains;
using DigitalPost.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DigitalPost.Retention;

/// <summary>Deletes what each sender's retention period has passed (<see cref="RetentionPeriods"/>): its batches
/// described before the period began, with every letter, archive entry and print job of theirs, and its letters in
/// citizens' mailboxes and the NemSMS queue and its webhook events stored before then. A batch goes whole, a slice of
/// <see cref="RetentionOptions.DeleteSlice"/> letters a statement; the entries other stores hold for its letters go
/// first, so a run cut short leaves nothing that a later run cannot find again.</summary>
public sealed class RetentionJob(
    ILetterStore letters, IArchiveStore archive, IPrintStore print, ICitizenLaneStore lanes, IWebhookOutbox outbox,
    RetentionPeriods periods, IOptions<RetentionOptions> options, TimeProvider time, ILogger<RetentionJob> log)
{
    public async Task<RetentionRun> Run(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var done = new List<SenderRetention>();
        foreach (var (sender, days) in periods.Of(await letters.Senders()))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var before = now - TimeSpan.FromDays(days);
            var result = await Expire(sender, days, before, cancellationToken);
            done.Add(result);
            if (result.Batches + result.MailboxLetters + result.NemSmsLetters + result.WebhookRuns > 0)
                log.LogInformation("Retention: sender {Sender} ({Days} days): {Batches} batches, {Letters} letters, {Archive} archive entries, " +
                    "{Print} print jobs, {Mailbox} mailbox letters, {NemSms} NemSMS, {Webhook} webhook runs deleted",
                    sender, days, result.Batches, result.Letters, result.ArchiveEntries, result.PrintJobs, result.MailboxLetters, result.NemSmsLetters, result.WebhookRuns);
        }
        return new RetentionRun(now, done);
    }

    private async Task<SenderRetention> Expire(string sender, int days, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var slice = Math.Max(1, options.Value.DeleteSlice);
        var batches = await letters.BatchesDescribedBefore(sender, before);
        long letterCount = 0, archived = 0, printJobs = 0;
        if (batches.Count > 0)
        {
            foreach (var uuids in (await letters.MessageIdsOutsideBulk(batches)).Chunk(slice))
            {
                archived += await archive.DeleteLetters(uuids);
                printJobs += await print.Delete(uuids);
            }
            for (int deleted; (deleted = await letters.DeleteLetters(batches, slice)) > 0;)
            {
                letterCount += deleted;
                cancellationToken.ThrowIfCancellationRequested();
            }
            await letters.ForgetBatches(batches);
        }
        return new SenderRetention(sender, days, before, batches.Count, letterCount, archived, printJobs,
            await Drain(() => lanes.DeleteBefore(LetterLane.CitizenMailbox, sender, before, slice)),
            await Drain(() => lanes.DeleteBefore(LetterLane.NemSms, sender, before, slice)),
            await Drain(() => outbox.DeleteBefore(sender, before, slice)));
    }

    private static async Task<long> Drain(Func<Task<int>> deleteSlice)
    {
        long total = 0;
        for (int deleted; (deleted = await deleteSlice()) > 0;) total += deleted;
        return total;
    }
}

/// <summary>Erases one recipient's personal data on request: their letters (found by their case key with each sender),
/// the archive cases and entries, print jobs and documents of those letters, their letters in the mailbox and NemSMS
/// lanes, and the registry's row of them (and their number in others' guardians). What a store held is counted.</summary>
public sealed class Erasure(
    ILetterStore letters, IArchiveStore archive, IPrintStore print, ICitizenLaneStore lanes, IDocumentStore documents,
    IRecipientRegistryStore registry, RetentionPeriods periods, IOptions<MassSendingOptions> massSending)
{
    public async Task<ErasureReport> Erase(RecipientKind kind, string recipientId)
    {
        var caseKeys = new CaseKeys(massSending.Value.ArchiveKey);
        var senders = periods.ConfiguredSenders.Concat(await letters.Senders()).Distinct(StringComparer.Ordinal);
        var cases = senders.Select(s => caseKeys.Of(s, kind, recipientId)).ToList();
        var uuids = await letters.MessageIdsTo(recipientId, cases);
        // Entries of the letters first, then the letters that lead to them, as retention does.
        var archived = await archive.DeleteLetters(uuids) + await archive.DeleteCases(cases);
        var printJobs = await print.Delete(uuids);
        long documentFiles = 0;
        foreach (var uuid in uuids) documentFiles += await documents.Delete(uuid);
        var deleted = await letters.EraseRecipient(recipientId, cases);
        var (mailbox, nemSms) = kind == RecipientKind.Cpr
            ? (await lanes.Erase(LetterLane.CitizenMailbox, recipientId), await lanes.Erase(LetterLane.NemSms, recipientId))
            : (0, 0);
        var inRegistry = await registry.Erase(recipientId);
        return new ErasureReport(kind, deleted, archived, printJobs, mailbox, nemSms, documentFiles,
            inRegistry.Citizens, inRegistry.GuardianOf, inRegistry.Companies, inRegistry.PNumbers);
    }
}
