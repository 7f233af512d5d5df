using System.Net.Http.Json;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Postgres;

/// <summary>Notifications of new post across a crash: what was queued is sent after the restart, once; what was sent
/// before is not sent again.</summary>
public sealed class NotificationRestartTests(PostgresPlatformFixture platform) : IClassFixture<PostgresPlatformFixture>
{
    private static readonly TimeSpan Sweep = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_restart_between_queueing_and_sending_sends_each_notification_exactly_once()
    {
        var (sentEmail, sentMobile) = ($"før-{Guid.NewGuid():N}@example.dk", Mobile());
        var (queuedEmail, queuedMobile) = ($"efter-{Guid.NewGuid():N}@example.dk", Mobile());
        var (before, after) = (NewAdultCpr(), NewAdultCpr());
        await LoadCitizens($"{before};Før;tilmeldt;nej;;;{sentEmail};{sentMobile}", $"{after};Efter;tilmeldt;nej;;;{queuedEmail};{queuedMobile}");

        // Notified before the crash.
        await Letter(before);
        await platform.AdvanceBy(Sweep);
        Assert.Single(await platform.EmailsTo(sentEmail, 1));
        await WaitFor(() => platform.Sms.To("+45" + sentMobile).Count == 1, "the first SMS");

        // Queued, but neither the SMTP server nor the SMS provider takes it before the silo dies.
        platform.Smtp.Refusing = true;
        platform.Sms.Refusing = true;
        await Letter(after);
        await platform.AdvanceBy(Sweep);
        await WaitFor(async () => (await Status()).Channels.All(c => c.Retrying == 1 && c.LastError is not null), "both notifications failing");

        await platform.Restart();
        platform.Smtp.Refusing = false;
        platform.Sms.Refusing = false;
        // Nobody calls the platform: the notifier's wake-up comes back by itself, and the senders try again.
        await platform.AdvanceTo(platform.Now + TimeSpan.FromMinutes(5), Sweep);

        Assert.Single(await platform.EmailsTo(queuedEmail, 1));
        await WaitFor(() => platform.Sms.To("+45" + queuedMobile).Count == 1, "the queued SMS");
        await WaitFor(async () => (await Status()).Channels.All(c => c.Waiting == 0), "the outbox drained");
        // And once: nothing more after further sweeps, nothing sent before the crash again.
        await platform.AdvanceBy(TimeSpan.FromHours(2));
        await Task.Delay(200);
        Assert.Single(platform.Smtp.To(queuedEmail));
        Assert.Single(platform.Smtp.To(sentEmail));
        Assert.Single(platform.Sms.To("+45" + queuedMobile));
        Assert.Single(platform.Sms.To("+45" + sentMobile));
        Assert.Equal(0, platform.Sms.Repeats);
    }

    private static string Mobile() => $"3{Random.Shared.Next(0, 9_999_999):D7}";

    private async Task LoadCitizens(params string[] rows)
    {
        using var content = new StringContent("cpr;navn;status;nemsms;vaerger;adresse;epost;mobil\n" + string.Join("\n", rows) + "\n", Encoding.UTF8, "text/csv");
        using var response = await platform.Http.PutAsync("/api/registry/citizens", content);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task Letter(string cpr)
    {
        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Besked", ChannelChoice.DigitalPost, BatchId: $"notify-{Guid.NewGuid():N}"), $"cpr;navn;beloeb\n{cpr};Borger;1,00\n");
        Assert.Equal(1, (await platform.Alpha.WaitForCompletion(upload.Body!.BatchId)).Counts.Delivered);
    }

    private async Task<NotificationStatus> Status() =>
        (await platform.Http.GetFromJsonAsync<NotificationStatus>("/api/notifications", PlatformJson.Options))!;

    private static Task WaitFor(Func<bool> condition, string what) => WaitFor(() => Task.FromResult(condition()), what);

    private static async Task WaitFor(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Never saw {what}.");
            await Task.Delay(20);
        }
    }
}
