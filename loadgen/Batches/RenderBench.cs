using System.Diagnostics;
using DigitalPost.Domain.Letters;

namespace DigitalPost.LoadGen.Batches;

public sealed record RenderReport(int Letters, int Threads, double Seconds, double MsPerLetter, double CpuMsPerLetter, long BytesPerLetter, long AllocatedBytesPerLetter);

/// <summary><c>loadgen render</c>: the cost of one letter, from merge fields to PDF, as the batches pay it: the
/// sample template rendered through Liquid and laid out by the PDF renderer, on one or more threads.</summary>
public static class RenderBench
{
    public static RenderReport Run(int letters, int threads, string template)
    {
        var parsed = LetterTemplate.Parse(template);
        var renderer = new PdfLetterRenderer();
        LetterContent Letter(int i) => new("Opkrævning af ejendomsskat 2027", "Demo Kommune", [$"Modtager {i}", "Rådhuspladsen 1", "1550 København V"],
            new DateOnly(2027, 1, 15), parsed.Render(new Dictionary<string, string>
            {
                ["navn"] = $"Modtager {i}", ["aar"] = "2027", ["beloeb"] = $"{i % 9000 + 100},00", ["forfaldsdato"] = "01-03-2027", ["rate"] = i % 3 == 0 ? "350,00" : "",
            }));

        for (var i = 0; i < Math.Min(200, letters); i++) renderer.Render(Letter(i));   // warm-up: JIT and font tables
        long bytes = 0;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, letters, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => Interlocked.Add(ref bytes, renderer.Render(Letter(i)).LongLength));
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        return new RenderReport(letters, threads, Math.Round(seconds, 3), Math.Round(seconds * 1000 / letters, 3), Math.Round(cpuMs / letters, 3),
            bytes / letters, allocated / letters);
    }
}
