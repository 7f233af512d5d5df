using System.Net;
using DigitalPost.Contracts;
using Spectre.Console;

namespace DigitalPost.LoadGen.Batches;

public sealed record SendSettings(
    Uri Platform,
    string ApiKey,
    FileInfo Csv,
    FileInfo Template,
    BatchOptions Options,
    IReadOnlyList<FileInfo> Attachments,
    IReadOnlyList<FileInfo> RowAttachments,
    TimeSpan Timeout,
    bool Follow = true);

public sealed record SendSummary(BatchAccepted Accepted, BatchStatusView? Final, IReadOnlyList<LetterView> Errors);

/// <summary><c>loadgen send</c>: uploads a real CSV and template, follows the batch to its end with a progress bar,
/// and prints the counts and the letters that failed.</summary>
public static class Send
{
    public static async Task<SendSummary> Run(SendSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var platform = new PlatformClient(settings.Platform, settings.ApiKey);
        BatchAccepted accepted;
        await using (var csv = settings.Csv.OpenRead())
        {
            var attachments = settings.Attachments.Select(a => (a.FullName, false)).Concat(settings.RowAttachments.Select(a => (a.FullName, true)));
            accepted = await platform.SubmitBatch(settings.Options, await File.ReadAllTextAsync(settings.Template.FullName, cancellationToken), csv, attachments, cancellationToken);
        }
        var counts = accepted.Status?.Counts;
        console.MarkupLineInterpolated($"Batch [bold]{accepted.SenderBatchId}[/] ({accepted.BatchId}): {accepted.Outcome}, {counts?.Accepted ?? 0} rows accepted, {counts?.RejectedRows ?? 0} rejected.");
        foreach (var issue in accepted.Issues.Take(20))
            console.MarkupLineInterpolated($"  [{(issue.Severity == IssueSeverity.Error ? "red" : "yellow")}]row {issue.Row}, {issue.Field}: {issue.Reason}[/]");
        if (accepted.IssueCount > 20) console.MarkupLineInterpolated($"  ... and {accepted.IssueCount - 20} more issues (GET /api/batches/{accepted.BatchId}/issues)");
        if (!settings.Follow) return new SendSummary(accepted, accepted.Status, []);

        var final = await Follow(platform, accepted.BatchId, settings.Timeout, console, cancellationToken);
        var errors = await platform.GetLetters(accepted.BatchId, errorsOnly: true, take: 1000, cancellationToken);
        Print(final, errors, console);
        return new SendSummary(accepted, final, errors);
    }

    public static async Task<BatchStatusView> Follow(PlatformClient platform, Guid batchId, TimeSpan timeout, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var status = await platform.GetBatch(batchId, cancellationToken);
        var deadline = DateTime.UtcNow + timeout;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask("letters final", maxValue: 1.0);
                while (status.Phase != BatchPhase.Completed && DateTime.UtcNow < deadline)
                {
                    bar.Value = status.Progress;
                    bar.Description = $"{status.Phase}: {status.Counts.Delivered + status.Counts.ToVirk} delivered, {status.Counts.Queued} queued, {status.Counts.Failing} failing";
                    await Task.Delay(250, cancellationToken);
                    try { status = await platform.GetBatch(batchId, cancellationToken); }
                    // While the cluster recovers from a silo that died, a status read may fail: followed on, not fatal.
                    catch (Exception e) when (PlatformClient.IsPassing(e)) { }
                }
                bar.Value = status.Progress;
            });
        if (status.Phase != BatchPhase.Completed)
            console.MarkupLineInterpolated($"[yellow]Stopped following after {timeout.TotalSeconds:0} s; the batch is {status.Phase}.[/]");
        return status;
    }

    public static void Print(BatchStatusView status, IReadOnlyList<LetterView> errors, IAnsiConsole console)
    {
        var c = status.Counts;
        var table = new Table().AddColumns("letters", "count");
        foreach (var (name, count) in new[]
        {
            ("rows accepted", c.Accepted), ("rows rejected", c.RejectedRows), ("delivered", c.Delivered), ("to the Virk mailbox", c.ToVirk),
            ("physical post", c.ToPrint), ("NemSMS", c.ToNemSms), ("returned to sender", c.Returned), ("failed", c.Failed), ("cancelled", c.Cancelled),
            ("in the resend flow", c.Failing), ("queued", c.Queued), ("pending", c.Pending), ("rerouted", c.Rerouted), ("copies", c.Copies),
        })
            table.AddRow(name, count.ToString());
        console.Write(table);
        console.MarkupLineInterpolated($"Phase {status.Phase}; send queue {status.SendQueue}, archive queue {status.ArchiveQueue}.");
        foreach (var e in errors.Take(20))
            console.MarkupLineInterpolated($"  [red]row {e.Row}{(e.Copy > 0 ? $" (copy {e.Copy})" : "")}: {e.State} {e.ErrorCode}: {e.ErrorText}[/]{(e.Remedy is null ? "" : $" - {e.Remedy}")}");
    }
}
