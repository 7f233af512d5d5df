using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DigitalPost.Contracts;
using Microsoft.Extensions.Logging;

namespace DigitalPost.Tests.Support;

/// <summary>The platform with every log entry of the silo and the API recorded, and a batch accepted before any
/// malformed request is sent: the tests of what callers can get wrong show that it is left as it was.</summary>
public sealed class InputFixture : PlatformFixture
{
    private readonly SemaphoreSlim _baselineLock = new(1, 1);
    private (Guid Id, string Snapshot)? _baseline;

    public LogRecorder Log { get; } = new();

    // A rule for the recorder itself outranks the category levels of any appsettings.json the host reads.
    protected override void AddLogging(ILoggingBuilder logging) => logging.AddProvider(Log).AddFilter<LogRecorder>(null, LogLevel.Trace);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Baseline();
    }

    /// <summary>A completed batch of two letters and one rejected row, accepted once for the whole collection.</summary>
    public async Task<Guid> Baseline()
    {
        await _baselineLock.WaitAsync();
        try
        {
            if (_baseline is null)
            {
                var (a, b) = (Batches.NewAdultCpr(), Batches.NewAdultCpr());
                await this.LoadCitizens($"{a};Anna;tilmeldt;nej;;", $"{b};Bo;tilmeldt;nej;;");
                var upload = await Alpha.SubmitBatch(new BatchOptions("Før angrebet", BatchId: "baseline"),
                    $"cpr;navn;beloeb\n{a};Anna;1,00\n{b};;2,00\n{b};Bo;3,00\n");
                Assert.Equal(HttpStatusCode.Accepted, upload.Status);
                var id = upload.Body!.BatchId;
                await Alpha.WaitFor(id, s => s.Phase == BatchPhase.Completed && s.ArchiveQueue == 0, "completed and archived");
                _baseline = (id, await Snapshot(id));
            }
            return _baseline.Value.Id;
        }
        finally
        {
            _baselineLock.Release();
        }
    }

    /// <summary>Fails unless the baseline batch's status, letters, issues and rows read as they did when it completed.</summary>
    public async Task AssertBaselineUnchanged()
    {
        var id = await Baseline();
        Assert.Equal(_baseline!.Value.Snapshot, await Snapshot(id));
    }

    private async Task<string> Snapshot(Guid id)
    {
        var parts = new List<string>();
        foreach (var path in new[] { "", "/letters", "/issues", "/rows/1", "/rows/3" })
            parts.Add(await Alpha.GetStringAsync($"/api/batches/{id}{path}"));
        var status = await Alpha.GetFromJsonAsync<BatchStatusView>($"/api/batches/{id}", PlatformJson.Options);
        Assert.Equal((2, 1), (status!.Counts.Delivered, status.Counts.RejectedRows));
        return string.Join("\n", parts.Select(p => JsonDocument.Parse(p).RootElement.ToString()));
    }
}

[CollectionDefinition(Name)]
public sealed class InputCollection : ICollectionFixture<InputFixture>
{
    public const string Name = "input";
}
