using System.Text.Json;

namespace DigitalPost.LoadGen.Receivers;

/// <summary>Every push a simulated system got, one JSON object per line: per message of an accepted push
/// <c>{"at","system","messageUuid","attempt","inPush","answer":202,"receipt"}</c> (receipt <c>Positive</c>,
/// <c>Negative</c>, <c>Virus</c> or <c>None</c>), and per refused push <c>{"at","system","answer":503}</c>. Readable by a
/// person with <c>grep</c> and by a program line by line while the simulator runs.</summary>
internal sealed class PushLog : IDisposable
{
    private readonly Lock _lock = new();
    private readonly StreamWriter _writer;

    public PushLog(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
    }

    public void Refused(string system, DateTimeOffset at) =>
        Write([JsonSerializer.Serialize(new { at, system, answer = 503 })]);

    public void Accepted(string system, DateTimeOffset at, IReadOnlyList<(Guid MessageUuid, int Attempt, ReceiptKind Receipt)> messages) =>
        Write([.. messages.Select(m => JsonSerializer.Serialize(new
        {
            at, system, messageUuid = m.MessageUuid, attempt = m.Attempt, inPush = messages.Count, answer = 202, receipt = m.Receipt.ToString(),
        }))]);

    private void Write(IReadOnlyList<string> lines)
    {
        lock (_lock)
        {
            foreach (var line in lines) _writer.WriteLine(line);
            // A push at a time: a reader sees whole pushes.
            _writer.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock) _writer.Dispose();
    }
}
