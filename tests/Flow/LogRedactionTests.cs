using System.Net;
using System.Text;
using DigitalPost.Contracts;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>No CPR number reaches the log: the paths where a parser's message would quote its input (a CSV header that
/// is really a data row, a malformed multipart part, malformed JSON, a rule that quotes the value it refuses) and the
/// platform's own failures, with every log entry of the silo and the API recorded at every level.</summary>
[Collection(InputCollection.Name)]
public sealed class LogRedactionTests(InputFixture platform)
{
    [Fact]
    public async Task Requests_that_carry_CPR_numbers_into_every_error_path_leave_none_in_the_log()
    {
        var cprs = Enumerable.Range(0, 14).Select(_ => NewAdultCpr()).ToArray();
        var org = await platform.Organisation();

        var responses = new List<HttpResponseMessage>
        {
            // A file without its header row: the header is the first data row.
            await platform.Alpha.PostAsync("/api/batches", Form(new BatchOptions("Brev"), Encoding.UTF8.GetBytes($"{cprs[0]};Anna;1,00\n"))),
            await platform.Http.PutAsync("/api/registry/citizens", new StringContent($"{cprs[1]};Anna;tilmeldt;nej;;\n", Encoding.UTF8, "text/csv")),
            await platform.Http.PutAsync("/api/registry/citizens", new StringContent($"cpr;navn;{Dashed(cprs[2])}\n", Encoding.UTF8, "text/csv")),
            // Multipart parts the reader cannot parse, holding CPR numbers.
            await Multipart($"--b\r\n{cprs[3]}\r\n\r\nx\r\n--b--\r\n"),
            await Multipart($"--b\r\nContent-Disposition: form-data; name=\"recipients\"; filename=\"a.csv\"\r\n\r\ncpr;navn\r\n{cprs[4]};Anna\r\n"),
            await Multipart($"--b\r\nContent-Disposition: form-data; name=\"{cprs[5]}\"\r\n\r\nx\r\n--b--\r\n"),
            await Multipart($"--b\r\nX-{cprs[6]}: {new string('x', 20_000)}\r\n\r\nx\r\n--b--\r\n"),
            await Multipart(Part("options", $$"""{"label":"Brev","channel":"{{cprs[7]}}"}""") + Part("template", "x") + Part("recipients", "cpr\n") + "--b--\r\n"),
            await Multipart(Part("options", $"{cprs[8]}") + "--b--\r\n"),
            // JSON bodies that do not parse, or whose values break a rule, at the CPR number.
            await Json("/api/messages", $$$"""{"header":{"messageUuid":"{{{cprs[9]}}}"}}"""),
            await Json("/api/messages", $"{cprs[10]}x"),
            await Json("/api/messages", $$$"""{"header":{"messageUuid":"{{{Guid.NewGuid()}}}","label":"x","sender":{"senderId":"{{{cprs[11]}}}"},"recipient":{"recipientId":"{{{cprs[11]}}}" } } }"""),
            // Rules a grain enforces, quoting the value it refuses in the exception it throws across the cluster.
            await platform.Http.PutAsync($"/api/organisations/{org.Cvr}/contact-points/cp-x",
                new StringContent($$"""{"name":"x","receiverSystemId":"{{cprs[12]}}"}""", Encoding.UTF8, "application/json")),
            await platform.Http.PutAsync($"/api/organisations/{org.Cvr}/receiver-systems/x",
                new StringContent($$"""{"endpoint":"http://127.0.0.1:9/","technicalContact":"{{cprs[13]}}"}""", Encoding.UTF8, "application/json")),
        };

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        foreach (var response in responses) response.Dispose();
        AssertNoneLogged(cprs);
        // The recorder hears both the API and the silo: a test that found nothing because nothing was recorded proves nothing.
        Assert.Contains(platform.Log.Entries, e => e.Contains("Microsoft.AspNetCore"));
        Assert.Contains(platform.Log.Entries, e => e.Contains("Orleans"));
    }

    [Fact]
    public async Task A_failure_of_the_platform_is_answered_500_and_logged_with_CPR_numbers_masked()
    {
        var cpr = NewAdultCpr();
        var http = await Handled(new InvalidOperationException($"lookup of {cpr} failed", new FormatException($"'{Dashed(cpr)}' is odd")));

        Assert.Equal(StatusCodes.Status500InternalServerError, http.Response.StatusCode);
        Assert.Contains(platform.Log.Entries, e => e.Contains($"lookup of {cpr[..6]}-XXXX failed") && e.Contains("FormatException"));
        AssertNoneLogged([cpr]);
    }

    [Fact]
    public async Task A_grain_call_that_timed_out_is_answered_503_with_a_time_to_retry_and_logged_masked()
    {
        var cpr = NewAdultCpr();
        var http = await Handled(new TimeoutException($"Response did not arrive on time for the lookup of {cpr}"));

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, http.Response.StatusCode);
        Assert.Equal("5", http.Response.Headers.RetryAfter.ToString());
        Assert.Contains(platform.Log.Entries, e => e.Contains("answered 503") && e.Contains($"{cpr[..6]}-XXXX"));
        AssertNoneLogged([cpr]);
    }

    /// <summary>Hands a failure to the platform's exception handler as a request's would be, logging to the recorder at
    /// every level; the answer is in the returned context.</summary>
    private async Task<HttpContext> Handled(Exception failure)
    {
        using var logs = LoggerFactory.Create(l => l.AddProvider(platform.Log).SetMinimumLevel(LogLevel.Trace));
        var handler = new ProblemHandler(logs.CreateLogger<ProblemHandler>());
        var http = new DefaultHttpContext { RequestServices = new ServiceCollection().AddProblemDetails().AddLogging().BuildServiceProvider() };
        http.Response.Body = new MemoryStream();
        Assert.True(await handler.TryHandleAsync(http, failure, CancellationToken.None));
        return http;
    }

    private void AssertNoneLogged(string[] cprs)
    {
        var leaks = platform.Log.Entries.Where(e => cprs.Any(c => e.Contains(c) || e.Contains(Dashed(c)))).ToList();
        Assert.True(leaks.Count == 0, $"CPR numbers in the log:\n{string.Join("\n---\n", leaks)}");
    }

    private static string Dashed(string cpr) => $"{cpr[..6]}-{cpr[6..]}";

    private static string Part(string name, string content) =>
        $"--b\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\r\n{content}\r\n";

    private Task<HttpResponseMessage> Multipart(string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
        return platform.Alpha.PostAsync("/api/batches", content);
    }

    private Task<HttpResponseMessage> Json(string path, string json) =>
        platform.Alpha.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
}
