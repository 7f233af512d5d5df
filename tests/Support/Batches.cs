using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Silo;

namespace DigitalPost.Tests.Support;

public sealed record Upload(HttpStatusCode Status, BatchAccepted? Body, string Raw);

/// <summary>Merge batches over HTTP, the recipient registry, and people with CPR numbers no other test uses.</summary>
public static class Batches
{
    private static int _serial;

    public const string Template = "Kære {{ navn }}\n\nDu skal betale {{ beloeb }} kr.";

    /// <summary>A valid CPR number (real date, century digit, modulus 11) for a person born on <paramref name="birth"/>.</summary>
    public static string NewCpr(DateOnly birth)
    {
        int[] weights = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
        var prefix = birth.ToString("ddMMyy");
        var century = birth.Year >= 2000 ? 4 : 0;
        while (true)
        {
            var serial = Interlocked.Increment(ref _serial) % 1000;
            var cpr = $"{prefix}{century}{serial:D3}";
            if (cpr.Select((c, i) => (c - '0') * weights[i]).Sum() % 11 == 0) return cpr;
        }
    }

    private static int _adult = -1;

    /// <summary>A valid CPR number of an adult born in the 1930s or later, never the same twice in a test run: the tests
    /// share one registry, so a number another test registered must never stand for an unknown person.</summary>
    public static string NewAdultCpr()
    {
        int[] weights = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
        while (true)
        {
            var n = Interlocked.Increment(ref _adult);
            var cpr = $"{new DateOnly(1930, 1, 1).AddDays(n / 1000):ddMMyy}0{n % 1000:D3}";
            if (cpr.Select((c, i) => (c - '0') * weights[i]).Sum() % 11 == 0) return cpr;
        }
    }

    public static async Task<Upload> SubmitBatch(this HttpClient sender, BatchOptions options, string csv, string template = Template,
        Encoding? encoding = null, IEnumerable<(string Part, string Filename, byte[] Content)>? files = null)
    {
        using var form = Form(options, (encoding ?? new UTF8Encoding(false)).GetBytes(csv), template, files);
        using var response = await sender.PostAsync("/api/batches", form);
        var raw = await response.Content.ReadAsStringAsync();
        var body = response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK ? JsonSerializer.Deserialize<BatchAccepted>(raw, PlatformJson.Options) : null;
        return new Upload(response.StatusCode, body, raw);
    }

    public static MultipartFormDataContent Form(BatchOptions options, byte[] csv, string template = Template, IEnumerable<(string Part, string Filename, byte[] Content)>? files = null)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(JsonSerializer.Serialize(options, PlatformJson.Options), Encoding.UTF8, "application/json"), "options" },
            { new StringContent(template, Encoding.UTF8, "text/plain"), "template" },
        };
        foreach (var (part, filename, content) in files ?? [])
        {
            var file = new ByteArrayContent(content);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
            form.Add(file, part, filename);
        }
        var recipients = new ByteArrayContent(csv);
        recipients.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(recipients, "recipients", "modtagere.csv");
        return form;
    }

    public static async Task<BatchStatusView> Batch(this HttpClient sender, Guid batchId) =>
        (await sender.GetFromJsonAsync<BatchStatusView>($"/api/batches/{batchId}", PlatformJson.Options))!;

    public static async Task<List<LetterView>> Letters(this HttpClient sender, Guid batchId, bool errorsOnly = false) =>
        (await sender.GetFromJsonAsync<List<LetterView>>($"/api/batches/{batchId}/letters?errorsOnly={errorsOnly}", PlatformJson.Options))!;

    /// <summary>Waits (in real time) until the batch's status satisfies <paramref name="condition"/>.</summary>
    /// <summary>The letters the counts place in a state: every accepted letter is in exactly one, at every moment.</summary>
    public static int InStates(this BatchCounts c) =>
        c.Pending + c.Queued + c.Failing + c.Delivered + c.ToVirk + c.ToPrint + c.ToNemSms + c.Returned + c.Failed + c.Cancelled;

    public static async Task<BatchStatusView> WaitFor(this HttpClient sender, Guid batchId, Func<BatchStatusView, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await sender.Batch(batchId);
            if (condition(status)) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Batch {batchId} never got {what}: {JsonSerializer.Serialize(status, PlatformJson.Options)}");
            await Task.Delay(20);
        }
    }

    public static Task<BatchStatusView> WaitForCompletion(this HttpClient sender, Guid batchId) =>
        sender.WaitFor(batchId, s => s.Phase == BatchPhase.Completed, "completed");

    public static async Task LoadCitizens(this PlatformFixture platform, params string[] rows) =>
        await Load(platform, "citizens", "cpr;navn;status;nemsms;vaerger;adresse", rows);

    public static async Task LoadCompanies(this PlatformFixture platform, params string[] rows) =>
        await Load(platform, "companies", "cvr;navn;postkasse;pnumre;adresse", rows);

    private static async Task Load(PlatformFixture platform, string part, string header, string[] rows)
    {
        using var content = new StringContent(header + "\n" + string.Join("\n", rows) + "\n", Encoding.UTF8, "text/csv");
        using var response = await platform.Http.PutAsync($"/api/registry/{part}", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.DoesNotContain("\"severity\":\"Error\"", body);
    }
}
