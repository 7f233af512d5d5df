using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Tests.Support;
using static DigitalPost.Tests.Support.Batches;

namespace DigitalPost.Tests.Flow;

/// <summary>What an attacker's probe sent, and what a careless sender might: every malformed request is answered 4xx
/// with a problem-details body that says what is wrong (and where: the row, the field, the position), stores nothing,
/// and leaves an earlier batch as it was.</summary>
[Collection(InputCollection.Name)]
public sealed class MalformedInputTests(InputFixture platform)
{
    private const string Good = "cpr;navn;beloeb\n{0};Anna;100,00\n";

    public static TheoryData<string, byte[], string, string> BadRecipientFiles()
    {
        var cpr = NewAdultCpr();
        var manyFields = string.Concat(Enumerable.Range(0, 1000).Select(i => $"{{{{ felt{i} }}}}\n"));
        return new()
        {
            { "empty file", [], Template, "empty" },
            { "byte order mark only", [0xEF, 0xBB, 0xBF], Template, "empty" },
            { "no header row", Utf8($"{cpr};Anna;100,00\n"), Template, "no recipient column" },
            { "no recipient column", Utf8("navn;beloeb\nAnna;100,00\n"), Template, "no recipient column" },
            { "a template field with no column", Utf8($"cpr;navn\n{cpr};Anna\n"), Template, "merge field 'beloeb'" },
            { "a column named twice", Utf8($"cpr;navn;Navn;beloeb\n{cpr};Anna;Anna;1\n"), Template, "'navn' appears 2 times" },
            { "empty column names", Utf8($";;;\n{cpr};Anna;1;\n"), Template, "(unnamed)" },
            { "'|' separators", Utf8($"cpr|navn|beloeb\n{cpr}|Anna|1\n"), Template, "no recipient column" },
            { "mixed separators", Utf8($"cpr;navn,beloeb\n{cpr};Anna,1\n"), Template, "merge fields 'beloeb' and 'navn'" },
            { "binary data", [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 % 256))], Template, "not CSV text" },
            { "UTF-32", [.. Encoding.UTF32.GetPreamble(), .. Encoding.UTF32.GetBytes($"cpr;navn;beloeb\n{cpr};Anna;1\n")], Template, "not CSV text" },
            { "a template of 1,000 fields", Utf8($"cpr;navn\n{cpr};Anna\n"), manyFields, "and 980 more" },
            { "a first line of 100,000 characters", Utf8(new string('x', 100_000)), Template, "longer than 65,536 characters" },
        };
    }

    [Theory]
    [MemberData(nameof(BadRecipientFiles))]
    public async Task A_CSV_whose_header_cannot_be_used_is_refused_with_the_reason_and_its_batch_id_takes_the_corrected_file(
        string why, byte[] csv, string template, string reason)
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Anna;tilmeldt;nej;;");
        var options = Options();

        foreach (var path in new[] { "/api/batches/preview?row=1", "/api/batches" })
        {
            using var refused = await platform.Alpha.PostAsync(path, Form(options, csv, template));
            var problem = await Problem(refused);
            Assert.True(problem.Contains(reason), $"{why} on {path}: {problem}");
            Assert.Contains("header", problem);
            Assert.DoesNotContain(cpr, problem);
        }

        var corrected = await platform.Alpha.SubmitBatch(options, string.Format(Good, cpr));
        Assert.True(corrected.Status == HttpStatusCode.Accepted, $"{why}: the corrected file got {corrected.Status}: {corrected.Raw}");
        await platform.AssertBaselineUnchanged();
    }

    public static TheoryData<string, byte[], string> BadRegistryFiles()
    {
        var cpr = NewAdultCpr();
        return new()
        {
            { "citizens", [], "empty" },
            { "citizens", [0xEF, 0xBB, 0xBF], "empty" },
            { "citizens", Utf8($"{cpr};Anna;tilmeldt;nej;;\n"), "is not one of this file's columns" },
            { "citizens", Utf8("navn;status\nAnna;tilmeldt\n"), "'cpr' is missing" },
            { "citizens", Utf8($"cpr;navn;status;navn\n{cpr};Anna;tilmeldt;Anna\n"), "give the same thing" },
            { "citizens", Utf8($"cpr|navn|status\n{cpr}|Anna|tilmeldt\n"), "is missing" },
            { "citizens", [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 % 256))], "not CSV text" },
            { "citizens", [.. Encoding.UTF32.GetPreamble(), .. Encoding.UTF32.GetBytes($"cpr;navn;status\n{cpr};Anna;tilmeldt\n")], "not CSV text" },
            { "companies", [], "empty" },
            { "companies", Utf8("12345674;Firma;aktiv;;\n"), "is not one of this file's columns" },
            { "companies", Utf8("cvr;navn;postkasse;navn\n"), "give the same thing" },
            { "companies", Utf8(new string(';', 100_000)), "longer than 65,536 characters" },
        };
    }

    [Theory]
    [MemberData(nameof(BadRegistryFiles))]
    public async Task A_registry_file_whose_header_cannot_be_used_is_refused_with_the_reason(string register, byte[] csv, string reason)
    {
        var before = await platform.Http.GetStringAsync("/api/registry");
        using var content = new ByteArrayContent(csv);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");

        using var response = await platform.Http.PutAsync($"/api/registry/{register}", content);

        var problem = await Problem(response);
        Assert.Contains(reason, problem);
        Assert.Contains("header", problem);
        Assert.Equal(before, await platform.Http.GetStringAsync("/api/registry"));
        await platform.AssertBaselineUnchanged();
    }

    public static TheoryData<string, string, string, string> BadJsonBodies()
    {
        var message = JsonSerializer.Serialize(PlatformFixture.NewMessage(PlatformFixture.NewCvr(), null), PlatformJson.Options);
        var document = """{"label":"Brev","files":[{"filename":"a.pdf","encodingFormat":"application/pdf","content":"JVBERg=="}]}""";
        string MessageWith(string body) => message[..message.IndexOf("\"body\":", StringComparison.Ordinal)] + $"\"body\":{body}}}";
        return new()
        {
            { "POST", "/api/messages", "{}", "header" },
            { "POST", "/api/messages", """{"header":null,"body":null}""", "header" },
            { "POST", "/api/messages", MessageWith("""{"mainDocument":{"label":"Brev","files":[null]}}"""), "body.mainDocument.files[0]" },
            { "POST", "/api/messages", MessageWith("{\"mainDocument\":" + document[..^1] + ",\"actions\":[null]}}"), "body.mainDocument.actions[0]" },
            { "POST", "/api/messages", MessageWith("{\"mainDocument\":" + document + ",\"additionalDocuments\":[null]}"), "body.additionalDocuments[0]" },
            { "POST", "/api/messages", message.Replace("\"channel\":\"DigitalPost\"", "\"channel\":99"), "$.channel" },
            { "POST", "/api/messages", message[..40], "line 1" },
            { "POST", "/api/messages", "{\"header\":\n{\"messageUuid\": nope}}", "line 2" },
            { "POST", "/api/receipts/batch", "[null]", "[0]" },
            { "POST", "/api/receipts/batch", "[{\"messageUuid\":", "not valid JSON" },
            { "POST", "/api/receipts", "null", "body" },
            { "PUT", "/api/organisations/{cvr}/contact-points/cp-x", """{"name":null,"receiverSystemId":"a"}""", "name" },
            { "PUT", "/api/organisations/{cvr}/contact-points/cp-x", """{"name":null}""", "receiverSystemId" },
            { "PUT", "/api/organisations/{cvr}/receiver-systems/x", """{"endpoint":null,"technicalContact":null}""", "endpoint" },
            { "PUT", "/api/organisations/%20", """{"name":"Firma"}""", "cvr" },
            { "GET", "/api/organisations/%20", "", "cvr" },
            { "GET", "/api/organisations/%20/virk-mailbox", "", "cvr" },
            { "PUT", "/api/senders/me/webhook", "{\"url\":", "not valid JSON" },
        };
    }

    [Theory]
    [MemberData(nameof(BadJsonBodies))]
    public async Task A_JSON_body_that_is_malformed_or_misses_what_it_needs_is_refused_naming_the_field_or_position(
        string method, string path, string body, string where)
    {
        var org = await platform.Organisation();
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{cvr}", org.Cvr));
        if (method != "GET") request.Content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await platform.CallerOf(path, org).SendAsync(request);

        Assert.Contains(where, await Problem(response));
        await platform.AssertBaselineUnchanged();
    }

    public static TheoryData<string, string, string> BadBatchOptions() => new()
    {
        { """{"label":"Brev","actions":[null]}""", "options.actions[0]", "is null" },
        { """{"label":"Brev","channel":99}""", "options", "$.channel" },
        { """{"label":"Brev","channel":"PhysicalPost, NemSms"}""", "options", "$.channel" },
        { """{"label":"Brev",""", "options", "line 1" },
        { "null", "options", "empty" },
        { """{"label":null}""", "options.label", "missing" },
    };

    [Theory]
    [MemberData(nameof(BadBatchOptions))]
    public async Task Batch_options_that_are_malformed_or_break_a_rule_are_refused_naming_the_field(string options, string field, string reason)
    {
        var cpr = NewAdultCpr();
        using var form = Multipart(options, Template, string.Format(Good, cpr));

        using var response = await platform.Alpha.PostAsync("/api/batches", form);

        await Problem(response);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var reasons = problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(r => r.GetString()!).ToList();
        Assert.Contains(reasons, r => r.Contains(reason));
        await platform.AssertBaselineUnchanged();
    }

    public static TheoryData<string, string?, byte[], string> BadMultipartBodies()
    {
        var form = Encoding.UTF8.GetBytes(
            "--b\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{\"label\":\"Brev\"}\r\n" +
            "--b\r\nContent-Disposition: form-data; name=\"template\"\r\n\r\nKære {{ navn }}\r\n" +
            "--b\r\nContent-Disposition: form-data; name=\"recipients\"; filename=\"m.csv\"\r\n\r\ncpr;navn\r\n0101011234;Anna\r\n--b--\r\n");
        var longBoundary = new string('b', 200);
        return new()
        {
            { "wrong boundary", "multipart/form-data; boundary=other", form, "boundary of its Content-Type never comes" },
            { "over-long boundary", $"multipart/form-data; boundary={longBoundary}", Encoding.UTF8.GetBytes($"--{longBoundary}\r\n\r\nx\r\n--{longBoundary}--\r\n"), "boundary" },
            { "no boundary", "multipart/form-data", form, "boundary" },
            { "truncated", "multipart/form-data; boundary=b", form[..(form.Length / 2)], "cut off" },
            { "empty", "multipart/form-data; boundary=b", [], "boundary of its Content-Type never comes" },
            { "garbage", "multipart/form-data; boundary=b", [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 13 % 256))], "boundary of its Content-Type never comes" },
            { "a part header that is no header", "multipart/form-data; boundary=b", Encoding.UTF8.GetBytes("--b\r\nnot a header\r\n\r\nx\r\n--b--\r\n"), "well-formed" },
            { "part headers over 16 KB", "multipart/form-data; boundary=b", Encoding.UTF8.GetBytes($"--b\r\nX-Long: {new string('x', 20_000)}\r\n\r\nx\r\n--b--\r\n"), "well-formed" },
            { "an unknown part", "multipart/form-data; boundary=b", Encoding.UTF8.GetBytes("--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n"), "other" },
            { "not multipart", "application/json", Encoding.UTF8.GetBytes("{}"), "multipart/form-data" },
            { "no content type", null, Encoding.UTF8.GetBytes("cpr;navn"), "multipart/form-data" },
        };
    }

    [Theory]
    [MemberData(nameof(BadMultipartBodies))]
    public async Task A_malformed_multipart_upload_or_preview_is_refused_with_the_reason(string why, string? contentType, byte[] body, string reason)
    {
        foreach (var path in new[] { "/api/batches", "/api/batches/preview?row=1" })
        {
            using var content = new ByteArrayContent(body);
            if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);

            using var response = await platform.Alpha.PostAsync(path, content);

            var problem = await Problem(response);
            Assert.True(problem.Contains(reason), $"{why} on {path}: {problem}");
        }
        await platform.AssertBaselineUnchanged();
    }

    [Theory]
    [InlineData("/api/batches/preview", "row")]
    [InlineData("/api/batches/preview?row=abc", "row")]
    [InlineData("/api/batches/x/letters?take=many", "take")]
    public async Task A_query_parameter_that_is_missing_or_not_a_number_is_refused_naming_it(string path, string parameter)
    {
        using var form = Multipart("""{"label":"Brev"}""", Template, string.Format(Good, NewAdultCpr()));
        using var request = new HttpRequestMessage(path.Contains("letters") ? HttpMethod.Get : HttpMethod.Post, path);
        if (request.Method == HttpMethod.Post) request.Content = form;

        using var response = await platform.Alpha.SendAsync(request);

        Assert.Contains(parameter, await Problem(response));
    }

    [Fact]
    public async Task A_value_over_10000_characters_rejects_its_row_naming_row_and_field_and_its_preview_says_so_too()
    {
        var cpr = NewAdultCpr();
        await platform.LoadCitizens($"{cpr};Anna;tilmeldt;nej;;");
        var word = new string('A', 5_000_000);
        var csv = $"cpr;navn;beloeb\n{cpr};{word};1,00\n{cpr};Anna;2,00\n";
        var options = Options() with { SendAt = platform.Now + TimeSpan.FromDays(1) };

        var upload = await platform.Alpha.SubmitBatch(options, csv);
        using var preview = await platform.Alpha.PostAsync("/api/batches/preview?row=1", Form(options, Utf8(csv)));

        Assert.Equal(HttpStatusCode.Accepted, upload.Status);
        var issue = Assert.Single(upload.Body!.Issues);
        Assert.Equal((1, "navn"), (issue.Row, issue.Field));
        Assert.Contains("5,000,000 characters", issue.Reason);
        Assert.Equal(1, (await platform.Alpha.Batch(upload.Body.BatchId)).Counts.Accepted);
        Assert.Contains("row 1: navn", await Problem(preview));
        await platform.AssertBaselineUnchanged();
    }

    private static BatchOptions Options() => new("Opkrævning", BatchId: $"input-{Guid.NewGuid():N}");

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static MultipartFormDataContent Multipart(string options, string template, string csv) => new()
    {
        { new StringContent(options, Encoding.UTF8, "application/json"), "options" },
        { new StringContent(template, Encoding.UTF8, "text/plain"), "template" },
        { new StringContent(csv, Encoding.UTF8, "text/csv"), "recipients", "modtagere.csv" },
    };

    /// <summary>Asserts a 400 with a problem-details body and returns the body's text: every string in it, decoded.</summary>
    internal static async Task<string> Problem(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return string.Join("\n", Strings(JsonDocument.Parse(body).RootElement));
    }

    private static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        JsonValueKind.String => [element.GetString()!],
        _ => [],
    };
}
