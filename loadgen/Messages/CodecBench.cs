using System.Diagnostics;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.Domain.Letters;
using DigitalPost.Domain.MassSending;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;

namespace DigitalPost.LoadGen.Messages;

/// <summary>One way of putting a letter on the wire: its bytes, and the time and memory encoding and decoding took, per letter.</summary>
/// <summary>Wall and CPU time per letter (CPU of the whole process: on a loaded machine the steadier figure).</summary>
public sealed record CodecFigures(string Path, long BytesPerLetter, double EncodeMicroseconds, double DecodeMicroseconds, double EncodeCpuMicroseconds, double DecodeCpuMicroseconds,
    long EncodeAllocatedBytes, long DecodeAllocatedBytes);

public sealed record CodecReport(int Letters, long PdfBytes, double RenderMilliseconds, double RenderCpuMilliseconds, IReadOnlyList<CodecFigures> Paths);

/// <summary><c>loadgen codec</c>: what a merge letter costs to encode as the platform pushes it and to decode as a
/// receiver reads it, in process on one thread: the platform's JSON envelope (the PDF named by its location, as pushed
/// today, and carried, for the same content), and the MeMo a REST_PUSH system gets (the PDF laid out and carried:
/// MeMo cannot name a document elsewhere). The PDF is the sample letter's, laid out once; what laying it out costs per
/// letter is measured besides (<c>loadgen render</c> measures it in depth).</summary>
public static class CodecBench
{
    public static async Task<CodecReport> Run(int letters, string template)
    {
        var parsed = LetterTemplate.Parse(template);
        var renderer = new PdfLetterRenderer();
        byte[] Render(int i) => renderer.Render(new LetterContent("Opkrævning af ejendomsskat 2027", "Demo Kommune", [$"Modtager {i}", "Rådhuspladsen 1", "1550 København V"],
            new DateOnly(2027, 1, 15), parsed.Render(new Dictionary<string, string>
            {
                ["navn"] = $"Modtager {i}", ["aar"] = "2027", ["beloeb"] = $"{i % 9000 + 100},00", ["forfaldsdato"] = "01-03-2027", ["rate"] = "",
            })));
        var pdf = Render(0);
        var render = Measure(Math.Min(letters, 200), i => Render(i));

        var byLocation = Enumerable.Range(0, letters).Select(Letter).ToArray();
        var documents = new MemoryDocumentStore();
        var extras = MemoMapping.Extras(DateTimeOffset.UtcNow);
        var paths = new List<CodecFigures>
        {
            Json("json, PDF by location (pushed today)", byLocation),
            Json("json, PDF carried", [.. byLocation.Select(m => MemoMapping.WithLetterPdf(m, pdf))]),
            await Memo("memo 1.2, PDF carried", [.. byLocation.Select(m => MemoMapping.WithLetterPdf(m, pdf))]),
        };
        return new CodecReport(letters, pdf.LongLength, Math.Round(render.Microseconds / 1000, 3), Math.Round(render.CpuMicroseconds / 1000, 3), paths);

        CodecFigures Json(string path, Message[] messages)
        {
            var encoded = new byte[messages.Length][];
            var encode = Measure(messages.Length, i => encoded[i] = JsonSerializer.SerializeToUtf8Bytes(new PushEnvelope(messages[i].Header.MessageUuid, "erp", 1, messages[i]), PlatformJson.Options));
            var decode = Measure(messages.Length, i => JsonSerializer.Deserialize<PushEnvelope>(encoded[i], PlatformJson.Options));
            return Figures(path, encoded, encode, decode);
        }

        async Task<CodecFigures> Memo(string path, Message[] messages)
        {
            var encoded = new byte[messages.Length][];
            var encode = await MeasureAsync(messages.Length, async i =>
            {
                using var content = await MemoPushContent.Create(messages[i], extras, documents);
                encoded[i] = await content.ReadAsByteArrayAsync();
            });
            var decode = await MeasureAsync(messages.Length, async i =>
            {
                var read = await MemoReader.Read(new MemoryStream(encoded[i], writable: false), async (_, content, cancellationToken) =>
                {
                    var length = 0L;
                    var buffer = new byte[16 * 1024];
                    for (int n; (n = await content.ReadAsync(buffer, cancellationToken)) > 0;) length += n;
                    return (length, "");
                });
                if (!read.IsValid) throw new InvalidOperationException($"The MeMo of letter {i} does not read back: {read.Errors[0].Path} {read.Errors[0].Message}");
            });
            return Figures(path, encoded, encode, decode);
        }

        CodecFigures Figures(string path, byte[][] encoded, Cost encode, Cost decode) =>
            new(path, encoded.Sum(e => (long)e.Length) / letters, Math.Round(encode.Microseconds, 1), Math.Round(decode.Microseconds, 1),
                Math.Round(encode.CpuMicroseconds, 1), Math.Round(decode.CpuMicroseconds, 1), encode.Allocated, decode.Allocated);
    }

    /// <summary>A letter to an organisation as a merge batch makes it: the PDF by location, an action, reply allowed.</summary>
    private static Message Letter(int i)
    {
        var uuid = Guid.NewGuid();
        var header = new MessageHeader(uuid, "Opkrævning af ejendomsskat 2027", new Sender("12345674", "Demo Kommune"),
            new Recipient("25000005", RecipientIdType.Cvr, Label: $"Virksomhed {i} ApS"), Reply: true, DoNotDeliverUntilDate: new DateTimeOffset(2027, 1, 20, 0, 0, 0, TimeSpan.Zero));
        var action = new DocumentAction(ActionCode.Betaling, "Betal her", new Uri("https://betaling.example.dk/ejendomsskat"), EndDateTime: new DateTimeOffset(2027, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var main = new Document(header.Label, [new DocumentFile("brev.pdf", "application/pdf", [], Location: LetterFactory.DocumentLocation(uuid))], [action]);
        return new Message(header, new MessageBody(main), Batch: new BatchRef(Guid.Empty, i, 0, 0));
    }

    private readonly record struct Cost(double Microseconds, double CpuMicroseconds, long Allocated);

    private static Cost Measure(int count, Action<int> work) =>
        MeasureAsync(count, i => { work(i); return Task.CompletedTask; }).GetAwaiter().GetResult();

    /// <summary>Microseconds and bytes allocated per item of <paramref name="count"/>, after a warm-up of the first items.
    /// Allocations are counted over all threads (asynchronous work may change threads; nothing else runs).</summary>
    private static async Task<Cost> MeasureAsync(int count, Func<int, Task> work)
    {
        for (var i = 0; i < Math.Min(count, 50); i++) await work(i);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) await work(i);
        return new Cost(clock.Elapsed.TotalMicroseconds / count, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count,
            (GC.GetTotalAllocatedBytes(precise: true) - allocated) / count);
    }
}
