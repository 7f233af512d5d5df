using DigitalPost.Contracts;
using DigitalPost.Tests.Support;

namespace DigitalPost.Tests.Flow;

public abstract class EmailOutboxTests(PlatformFixture platform)
{
    [Collection(PlatformCollection.Name)]
    public sealed class InMemory(PlatformFixture platform) : EmailOutboxTests(platform);

    [Collection(PostgresPlatformCollection.Name)]
    public sealed class OnPostgreSQL(PostgresPlatformFixture platform) : EmailOutboxTests(platform);

    [Fact]
    public async Task An_email_waits_in_the_outbox_while_the_SMTP_server_refuses_and_is_sent_exactly_once_after()
    {
        var outbox = platform.Client.GetGrain<IEmailOutboxGrain>(0);
        var address = $"drift-{Guid.NewGuid():N}@example.dk";
        var email = new OutboxEmail($"test:{Guid.NewGuid():N}", [address], "Prøve", "Indhold", platform.Now);
        platform.Smtp.Refusing = true;
        try
        {
            await outbox.Enqueue(email);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((await outbox.GetStatus()).LastError is null && DateTime.UtcNow < deadline) await Task.Delay(20);
            var failing = await outbox.GetStatus();
            Assert.NotNull(failing.LastError);
            Assert.True(failing.Pending >= 1);
            Assert.Empty(platform.Smtp.To(address));
            await outbox.Enqueue(email);
        }
        finally
        {
            platform.Smtp.Refusing = false;
        }

        await platform.AdvanceBy(TimeSpan.FromMinutes(1));
        var sent = Assert.Single(await platform.EmailsTo(address, 1));
        Assert.Equal("Prøve", sent.Subject);

        await outbox.Enqueue(email);
        await platform.Settle();
        await Task.Delay(200);
        Assert.Single(platform.Smtp.To(address));
        Assert.Null((await outbox.GetStatus()).LastError);
    }
}
