using System.Security.Cryptography;
using System.Text;

namespace DigitalPost.Domain.MassSending;

/// <summary>Ids derived by name (as UUID version 5, with SHA-256): the same sender, batch id and row always give the
/// same batch and message ids, so a resubmitted batch or row lands on the same grains and makes no second letter.</summary>
public static class BatchIds
{
    private static readonly Guid BatchNamespace = new("6f1c4a52-1f7e-4d63-9a39-0f1d4c6e2b10");
    private static readonly Guid LetterNamespace = new("0b9d2f7e-5a43-4c1e-8e2a-7d3b9c1f6a25");

    public static Guid Batch(string senderId, string senderBatchId) => Derive(BatchNamespace, $"{senderId}\n{senderBatchId}");

    /// <param name="generation">0 for the first letter; each "retry failed" of a letter that had a message uses the next.</param>
    public static Guid Letter(Guid batchId, int row, int copy, int generation) =>
        Derive(LetterNamespace, $"{batchId:N}\n{row}\n{copy}\n{generation}");

    private static Guid Derive(Guid ns, string name)
    {
        Span<byte> input = stackalloc byte[16 + Encoding.UTF8.GetMaxByteCount(name.Length)];
        ns.TryWriteBytes(input, bigEndian: true, out _);
        var length = 16 + Encoding.UTF8.GetBytes(name, input[16..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..length], hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>A batch id when the sender gives none: the hash of what was submitted, so the same upload twice is one batch.</summary>
    public static string FromContent(string fingerprint) => "content-" + fingerprint[..32].ToLowerInvariant();
}
