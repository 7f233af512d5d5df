using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DigitalPost.Contracts;
using DigitalPost.Tests.Support;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace DigitalPost.Tests.Flow;

/// <summary>Generated malformed requests against every endpoint of the API: mutations of valid bodies (a value
/// replaced, a property removed, the text cut short, noise inserted), odd path segments and query values, broken
/// multipart uploads and CSV files. None may be answered 5xx, every 400 must be a problem-details body, and a batch
/// accepted before them must read as it did.</summary>
[Collection(InputCollection.Name)]
public sealed class MalformedRequestFuzzTests(InputFixture platform, ITestOutputHelper output)
{
    private const int Requests = 10_000;

    [Fact]
    public async Task Ten_thousand_generated_malformed_requests_get_no_5xx_and_leave_an_earlier_batch_as_it_was()
    {
        var baseline = await platform.Baseline();
        var org = await platform.Organisation();
        // A failure names its seed; DIGITALPOST_FUZZ_SEED replays it.
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("DIGITALPOST_FUZZ_SEED"), out var given) ? given : (ulong)Random.Shared.NextInt64();
        var requests = new RequestGenerator(org.Cvr, baseline, platform.Now).Any().Sample(Requests, new Rnd(seed), 30);
        var wrong = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        using var wrongKey = platform.SenderHttp("not-a-key");
        var clock = Stopwatch.StartNew();

        // Recording every log entry at every level would cost more than the requests; the log is tested elsewhere.
        platform.Log.Recording = false;
        try
        {
            await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (request, cancellationToken) =>
            {
                using var message = request.ToMessage();
                // Valid credentials are those of the role the endpoint requires, so the request reaches its validation.
                var client = request.Key switch { Key.Valid => platform.CallerOf(request.Path, org), Key.Wrong => wrongKey, _ => platform.Anonymous };
                using var response = await client.SendAsync(message, cancellationToken);
                var status = (int)response.StatusCode;
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (status >= 500 || (status == 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json"))
                    wrong.Enqueue($"{status} for {request}: {Shorten(await response.Content.ReadAsStringAsync(cancellationToken))}");
            });
        }
        finally
        {
            platform.Log.Recording = true;
        }

        Assert.Equal(Requests, statuses.Values.Sum());
        output.WriteLine($"{Requests} requests in {clock.Elapsed.TotalSeconds:0.0} s (seed {seed}): " +
                         string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.True(wrong.IsEmpty, $"seed {seed}: {wrong.Count} of {Requests} answered wrongly, for example\n{string.Join("\n", wrong.Take(10))}");
        using var reset = await platform.Alpha.PutAsync("/api/senders/me/webhook", new StringContent("""{"url":null}""", Encoding.UTF8, "application/json"));
        await platform.AssertBaselineUnchanged();
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private enum Key { Valid, None, Wrong }

    private sealed record FuzzRequest(HttpMethod Method, string Path, string? ContentType, byte[]? Body, Key Key)
    {
        public HttpRequestMessage ToMessage()
        {
            var message = new HttpRequestMessage(Method, Path);
            if (Body is not null)
            {
                message.Content = new ByteArrayContent(Body);
                if (ContentType is not null) message.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
            }
            return message;
        }

        public override string ToString() =>
            $"{Method} {Shorten(Path)} ({ContentType ?? "no content type"}, key {Key}) {(Body is null ? "" : Shorten(Encoding.UTF8.GetString(Body)))}";
    }

    /// <summary>The generators: each endpoint's valid request, mutated.</summary>
    private sealed class RequestGenerator(string cvr, Guid baseline, DateTimeOffset now)
    {
        private readonly string _cpr = Batches.NewAdultCpr();

        public Gen<FuzzRequest> Any() =>
            from request in Gen.OneOf(
                Json(HttpMethod.Post, Gen.Constant("/api/messages"), Message()),
                Json(HttpMethod.Post, Gen.Constant("/api/receipts"), Receipt()),
                Json(HttpMethod.Post, Gen.Constant("/api/receipts/batch"), $"[{Receipt()},{Receipt()}]"),
                Json(HttpMethod.Put, Organisation(""), """{"name":"Firma A/S","deactivationPolicy":"Current"}"""),
                Json(HttpMethod.Put, Organisation("/receiver-systems/{0}"),
                    """{"endpoint":"http://127.0.0.1:9/push","technicalContact":"drift@firma.dk","isPrimary":false,"maxMessagesPerPush":5}"""),
                Json(HttpMethod.Put, Organisation("/contact-points/{0}"), """{"name":"Sagsbehandling","receiverSystemId":"a","visibleToCitizens":true}"""),
                Json(HttpMethod.Put, Gen.Constant("/api/senders/me/webhook"), """{"url":"http://127.0.0.1:9/hook"}"""),
                Bare(HttpMethod.Get, Organisation("")),
                Bare(HttpMethod.Get, Organisation("/receiver-systems/{0}")),
                Bare(HttpMethod.Post, Organisation("/receiver-systems/{0}/reactivate")),
                Bare(HttpMethod.Get, Organisation("/virk-mailbox")),
                Bare(HttpMethod.Get, Segment().Select(s => $"/api/messages/{s}")),
                Bare(HttpMethod.Get, Segment().Select(s => $"/api/letters/{s}/document.pdf")),
                Bare(HttpMethod.Get, Batch("")),
                Bare(HttpMethod.Get, from path in Batch("/letters") from query in Query() select path + query),
                Bare(HttpMethod.Get, from path in Batch("/issues") from query in Query() select path + query),
                Bare(HttpMethod.Post, Batch("/retry-failed")),
                Bare(HttpMethod.Get, from path in Batch("/rows/") from row in Number() select path + row),
                Bare(HttpMethod.Get, from path in Batch("/rows/") from row in Number() select path + row + "/letter.pdf"),
                Bare(HttpMethod.Get, Gen.Elements("/api/senders/me", "/api/registry", "/api/print", "/api/operations")),
                Bare(HttpMethod.Get, from id in Segment() from p in Number() select $"/api/recipients/{id}?pNumber={p}"),
                Bare(HttpMethod.Get, Segment().Select(id => $"/api/archive/{id}")),
                Upload(Gen.Constant("/api/batches")),
                Upload(Number().Select(row => $"/api/batches/preview?row={row}")),
                Registry("citizens", "cpr;navn;status;nemsms;vaerger;adresse", $"{_cpr};Anna;tilmeldt;ja;;Vej 1|8000 Aarhus C"),
                Registry("companies", "cvr;navn;postkasse;pnumre;adresse", $"{cvr};Firma;aktiv;1234567890;Vej 2"))
            from key in Gen.Frequency((18, Gen.Constant(Key.Valid)), (1, Gen.Constant(Key.None)), (1, Gen.Constant(Key.Wrong)))
            select request with { Key = key };

        private Gen<string> Organisation(string rest) =>
            from org in Gen.Frequency((3, Gen.Constant(cvr)), (1, Segment()))
            from id in Gen.Frequency((3, Gen.Elements("a", "b", "cp-a", "ny")), (1, Segment()))
            select $"/api/organisations/{org}" + string.Format(rest, id);

        private Gen<string> Batch(string rest) =>
            from batch in Gen.Frequency((2, Gen.Elements(baseline.ToString(), "baseline")), (1, Segment()))
            select $"/api/batches/{batch}{rest}";

        private Gen<string> Query() =>
            from errorsOnly in Gen.Elements("", "true", "maybe")
            from skip in Number()
            from take in Number()
            select $"?errorsOnly={errorsOnly}&skip={skip}&take={take}";

        /// <summary>Path segments: ids of the wrong shape or kind, escapes, blanks, and very long ones. Not %00: Kestrel
        /// refuses a NUL in the path itself, with an empty 400, before the request reaches the API.</summary>
        private Gen<string> Segment() => Gen.OneOf(
            Gen.Elements("%20", "%2F", "%25", "..", "x", "%C3%B8", "%F0%9F%99%82", "-1", "0", "12345678", _cpr, cvr,
                Guid.Empty.ToString(), Guid.NewGuid().ToString(), baseline.ToString(), new string('a', 3000)),
            Text(20).Select(t => Uri.EscapeDataString(t.Replace("\0", ""))).Where(s => s.Length > 0));

        private static Gen<string> Number() =>
            Gen.Elements("", "0", "1", "2", "-1", "2147483647", "2147483648", "-2147483649", "99999999999999999999", "1e3", "abc", "%20");

        private Gen<FuzzRequest> Json(HttpMethod method, Gen<string> path, string valid) =>
            from p in path
            from body in Mutated(valid)
            from type in Gen.Frequency((8, Gen.Constant<string?>("application/json")),
                (1, Gen.Elements<string?>(null, "text/plain", "application/json; charset=utf-16", "multipart/form-data; boundary=b", "application/xml")))
            select new FuzzRequest(method, p, type, body, Key.Valid);

        private static Gen<FuzzRequest> Bare(HttpMethod method, Gen<string> path) =>
            path.Select(p => new FuzzRequest(method, p, null, null, Key.Valid));

        private Gen<FuzzRequest> Registry(string register, string header, string row) =>
            from csv in Csv(header, row)
            from type in Gen.Elements<string?>("text/csv", null, "application/json")
            select new FuzzRequest(HttpMethod.Put, $"/api/registry/{register}", type, csv, Key.Valid);

        /// <summary>A merge batch upload: its parts (some missing, repeated, unknown or broken), its boundary, its length.</summary>
        private Gen<FuzzRequest> Upload(Gen<string> path) =>
            from p in path
            from options in Mutated(JsonSerializer.Serialize(new BatchOptions("Brev", SendAt: now.AddDays(1)), PlatformJson.Options))
            from template in Gen.Elements(Batches.Template, "", "{{", "{% if navn %}", "{{ navn | ukendt }}", "{% for x in y %}{{ x }}",
                string.Concat(Enumerable.Range(0, 300).Select(i => $"{{{{ f{i} }}}}")), "Kære {{ cpr }} {{ kopi }}", "\0\uFFFF")
            from csv in Csv("cpr;navn;beloeb", $"{_cpr};Anna;1,00")
            from parts in Gen.SubListOf(new[] { "options", "template", "recipients", "attachment", "rowAttachment", "ukendt", "recipients" })
            from all in Gen.Frequency((3, Gen.Constant(true)), (2, Gen.Constant(false)))
            from boundary in Gen.Frequency((8, Gen.Constant("b")), (1, Gen.Elements("", "c", new string('b', 71), "\"b\"")))
            from cut in Gen.Frequency((6, Gen.Constant(1.0)), (1, Gen.Choose(0, 99).Select(c => c / 100.0)))
            select new FuzzRequest(HttpMethod.Post, p, $"multipart/form-data; boundary={boundary}",
                Cut(Multipart(all ? ["options", "template", "recipients"] : parts, options, template, csv), cut), Key.Valid);

        private static byte[] Multipart(IEnumerable<string> parts, byte[] options, string template, byte[] csv)
        {
            var body = new MemoryStream();
            void Write(string text) => body.Write(Encoding.UTF8.GetBytes(text));
            foreach (var part in parts)
            {
                Write($"--b\r\nContent-Disposition: form-data; name=\"{part}\"" + (part.Contains("ttachment") ? "; filename=\"bilag.pdf\"" : "") + "\r\n\r\n");
                body.Write(part switch { "options" => options, "recipients" => csv, _ => Encoding.UTF8.GetBytes(part == "template" ? template : "%PDF-1.4") });
                Write("\r\n");
            }
            Write("--b--\r\n");
            return body.ToArray();
        }

        private static byte[] Cut(byte[] bytes, double share) => bytes[..(int)(bytes.Length * share)];

        /// <summary>A CSV file: a header (valid, or broken as senders and attackers break them) and rows of odd values,
        /// in one of the encodings a file may come in; or bytes.</summary>
        private Gen<byte[]> Csv(string header, string row) =>
            Gen.Frequency(
                (6, from head in Gen.Frequency((3, Gen.Constant(header)), (1, Gen.Elements("", "\uFEFF", row, header.Replace(';', '|'),
                        header.Replace(';', ','), header + ";" + header, ";;;", "sep=|\n" + header, header.ToUpperInvariant(), "\0", new string('x', 70_000))))
                    from count in Gen.Choose(0, 4)
                    from rows in Gen.ListOf(Gen.OneOf(Gen.Constant(row), Row()), count)
                    from encoding in Gen.Elements(Encoding.UTF8, Encoding.Unicode, Encoding.UTF32, Encoding.Latin1)
                    select encoding.GetBytes(string.Join("\n", rows.Prepend(head)) + "\n")),
                (1, Bytes()));

        private Gen<string> Row() =>
            from count in Gen.Choose(1, 6)
            from values in Gen.ListOf(Gen.OneOf(
                Gen.Elements("", _cpr, cvr, "3102801234", "1234567890", "\"", "\"a\"b", "\"a;b\"", "a\"", "x|y", "01-13-2026", "31-02-2026",
                    "Søren Ærø", "\t", "\u00A0", "\0", "=cmd|' /C calc'!A0", "{{ navn }}", "{% raw %}", "bilag.pdf", "ukendt.pdf",
                    new string('A', 10_001), string.Join(' ', Enumerable.Repeat("ord", 5000))),
                Text(30)), count)
            select string.Join(";", values);

        /// <summary>A valid body, or it mutated: a value replaced, a property removed, cut short, noise inserted, or
        /// something else entirely.</summary>
        private Gen<byte[]> Mutated(string valid) =>
            Gen.Frequency(
                (1, Gen.Constant(valid)),
                (5, from at in Gen.Choose(0, int.MaxValue) from value in JsonValue() select Replaced(valid, at, value)),
                (2, from at in Gen.Choose(0, int.MaxValue) select Removed(valid, at)),
                (2, from at in Gen.Choose(0, valid.Length) select valid[..at]),
                (1, from at in Gen.Choose(0, valid.Length) from noise in Text(5) select valid[..at] + noise + valid[at..]),
                (1, Gen.Elements("", "null", "[]", "{}", "[null]", "\"\"", "0", "{\"a\":", "\uFEFF{}", new string('[', 200) + new string(']', 200))))
            .Select(Encoding.UTF8.GetBytes)
            .Or(Bytes(), 1, 20);

        private Gen<string> JsonValue() => Gen.Elements(
            "null", "0", "-1", "99", "2147483648", "1e400", "true", "\"\"", "\" \"", "\"x\"", "[]", "{}", "[null]", "[[]]", "[{}]",
            $"\"{_cpr}\"", $"\"{new string('x', 20_000)}\"", "\"\\u0000\"", "\"2026-13-45T99:00:00Z\"", $"\"{Guid.Empty}\"",
            "\"Automatic, NemSms\"", "\"http://\"", "\"mailto:a@b\"", "{\"a\":{\"b\":{\"c\":[1,2,{\"d\":null}]}}}");

        /// <summary>The text of <paramref name="json"/> with one of its values (chosen by <paramref name="at"/>) replaced.</summary>
        private static string Replaced(string json, int at, string value)
        {
            var root = JsonNode.Parse(json)!;
            var nodes = Nodes(root).ToList();
            var target = nodes[at % nodes.Count];
            var replacement = JsonNode.Parse(value);
            switch (target.Parent)
            {
                case JsonObject parent: parent[target.GetPropertyName()] = replacement; break;
                case JsonArray parent: parent[target.GetElementIndex()] = replacement; break;
                default: return value;
            }
            return root.ToJsonString();
        }

        private static string Removed(string json, int at)
        {
            var root = JsonNode.Parse(json)!;
            var properties = Nodes(root).Where(n => n.Parent is JsonObject).ToList();
            if (properties.Count == 0) return json;
            var target = properties[at % properties.Count];
            ((JsonObject)target.Parent!).Remove(target.GetPropertyName());
            return root.ToJsonString();
        }

        private static IEnumerable<JsonNode> Nodes(JsonNode node) => node switch
        {
            JsonObject o => o.Select(p => p.Value).OfType<JsonNode>().SelectMany(Nodes).Prepend(node),
            JsonArray a => a.OfType<JsonNode>().SelectMany(Nodes).Prepend(node),
            _ => [node],
        };

        private static Gen<string> Text(int length) =>
            Gen.ArrayOf(Gen.Frequency((4, Gen.Choose(32, 126)), (1, Gen.Choose(0, 0xD7FF)))).Resize(length).Select(cs => new string([.. cs.Select(c => (char)c)]));

        private static Gen<byte[]> Bytes() => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Resize(300);

        private string Message() => JsonSerializer.Serialize(PlatformFixture.NewMessage(cvr, "cp-a"), PlatformJson.Options);

        private static string Receipt() => JsonSerializer.Serialize(new BusinessReceipt(Guid.NewGuid(), true), PlatformJson.Options);
    }
}

internal static class GenExtensions
{
    /// <summary>Mostly <paramref name="usual"/>, sometimes <paramref name="other"/>.</summary>
    public static Gen<T> Or<T>(this Gen<T> usual, Gen<T> other, int otherWeight, int usualWeight) =>
        Gen.Frequency((usualWeight, usual), (otherWeight, other));
}
