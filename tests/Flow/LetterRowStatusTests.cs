using System.Net.Http.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;
using DigitalPost.Infrastructure;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>A batch's partitions that store their letters once a day: whatever a letter's row says meanwhile, its
/// message grain wrote there.</summary>
public sealed class SlowFlushPlatformFixture : PlatformFixture
{
    protected override Task<IReadOnlyDictionary<string, string?>> PrepareStorage() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?> { ["MassSending:FlushInterval"] = "1.00:00:00" });
}

/// <summary>A batch letter's state has one home, its row: a status read of the message and the batch's letters page
/// agree the moment its message grain has written, without waiting for the batch to store what it heard.</summary>
public sealed class LetterRowStatusTests(SlowFlushPlatformFixture platform) : IClassFixture<SlowFlushPlatformFixture>
{
    [Fact]
    public async Task A_letter_its_message_grain_delivers_is_delivered_on_its_row_as_soon_as_the_receipt_is_answered()
    {
        var dead = await platform.Organisation(a: ReceiverProfile.Dead);
        await platform.LoadCompanies($"{dead.Cvr};Nede;aktiv;;");
        var upload = await platform.Alpha.SubmitBatch(new BatchOptions("Opkrævning", ChannelChoice.Automatic, BatchId: $"test-{Guid.NewGuid():N}"),
            $"cvr;navn;beloeb\n{dead.Cvr};Nede;1,00");
        var batchId = upload.Body!.BatchId;
        // The push fails: the letter's message grain took it over and runs the resend flow.
        await platform.Alpha.WaitFor(batchId, s => s.Counts.Failing == 1, "its letter failing");
        var uuid = BatchIds.Letter(batchId, 1, 0, 0);
        Assert.Equal(MessageStatus.Failing, (await platform.Status(uuid)).Status);

        using (var receipt = await platform.ReceiverHttp(dead, "a").PostAsJsonAsync("/api/receipts", new BusinessReceipt(uuid, true), PlatformJson.Options))
            receipt.EnsureSuccessStatusCode();

        // Read from the store itself: the partition has heard the change but stores nothing before its day-long flush
        // (the letters page would first have it store what it heard).
        var store = platform.Cluster.Silos[0].ServiceProvider.GetRequiredService<ILetterStore>();
        var row = Assert.Single((await store.Load(batchId)).Values);
        Assert.Equal((uuid, LetterState.Delivered, (string?)null), (row.MessageUuid, row.State, row.ErrorCode));
        Assert.True(await store.FindMessageState(uuid) is { State: not null, Version: > 1 }, "the grain's state is on the row");
        Assert.Equal(MessageStatus.Delivered, (await platform.Status(uuid)).Status);
        Assert.Equal(LetterState.Delivered, Assert.Single(await platform.Alpha.Letters(batchId)).State);
    }
}
