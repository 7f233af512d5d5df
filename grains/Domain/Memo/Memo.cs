using DigitalPost.Contracts;
using DigitalPost.Infrastructure;

namespace DigitalPost.Domain.Memo;

/// <summary>MeMo, Digital Post's message format (namespace <see cref="Namespace"/>): its names, versions and limits.</summary>
public static class Memo
{
    public const string Namespace = "https://DigitalPost.dk/MeMo-1";
    public const string Prefix = "memo";
    public static readonly IReadOnlySet<string> Versions = new HashSet<string> { "1.1", "1.2" };
    public const string SchemaVersion11 = "1.1.0";

    /// <summary>The whole document, as Digital Post counts it: 99.5 MB, the platform's one limit.</summary>
    public const long MaxBytes = MessageRules.MaxMessageBytes;

    public const int MaxLabel = 256;
    public const int MaxNotification = 150;
    /// <summary>Any other text value. MeMo's identifiers, names and descriptions are far shorter; the bound keeps a
    /// hostile document from making one value of many megabytes in memory.</summary>
    public const int MaxText = 10_000;
    public const int MaxContactInfo = 2;
    public const int MaxAdditionalContentData = 10;
    public const int MaxAdditionalReplyData = 4;

    public static string ActionCodeName(ActionCode code) => code.ToString().ToUpperInvariant();

    public static ActionCode? ActionCodeOf(string name) =>
        Enum.TryParse<ActionCode>(name, ignoreCase: true, out var code) && name == ActionCodeName(code) ? code : null;
}

/// <summary>An error in a MeMo document: where (its XML path, such as <c>/Message/MessageHeader/Sender/senderID</c>),
/// a code, and what is wrong. <see cref="RejectedValue"/> is never a CPR number in clear.</summary>
public sealed record MemoError(string Path, string Code, string Message, string? RejectedValue = null)
{
    public const string Missing = "MISSING";
    public const string TooLong = "TOO_LONG";
    public const string Invalid = "INVALID";
    public const string TooMany = "TOO_MANY";
    public const string Malformed = "MALFORMED";
    public const string TooLarge = "TOO_LARGE";
    public const string Unsupported = "UNSUPPORTED";
}

/// <summary>A MeMo document as read: the platform's message (files as references into the document store), the MeMo's
/// own identifiers the message contract does not carry, and every error found. A document with errors has no message.</summary>
/// <param name="MessageUuid">The document's messageUUID where it has one, valid or not.</param>
public sealed record MemoRead(Message? Message, Guid? MessageUuid, string? MemoVersion, string? MessageId, DateTimeOffset? CreatedDateTime, IReadOnlyList<MemoError> Errors, long Bytes)
{
    public bool IsValid => Errors.Count == 0 && Message is not null;
    public bool IsTooLarge => Errors.Any(e => e.Code == MemoError.TooLarge);
}

/// <summary>Stores one file's decoded bytes as they are read from the document: its length and SHA-256 (hex).</summary>
public delegate Task<(long Length, string Sha256)> MemoFileSink(DocumentKey key, Stream content, CancellationToken cancellationToken);

/// <summary>Opens a file of the message to be written (its bytes as a stream), for a file that does not carry them.</summary>
public delegate Task<Stream?> MemoFileSource(DocumentKey key, DocumentFile file, CancellationToken cancellationToken);

/// <summary>What a MeMo carries beyond the platform's message contract, for writing one.</summary>
public sealed record MemoExtras(string MemoVersion = "1.2", string? MessageId = null, DateTimeOffset? CreatedDateTime = null);

/// <summary>More bytes than <see cref="Memo.MaxBytes"/> were read.</summary>
public sealed class MemoTooLargeException(long limit) : Exception($"The MeMo is more than {limit:N0} bytes.")
{
    public long Limit { get; } = limit;
}

/// <summary>Passes a stream's bytes through and throws <see cref="MemoTooLargeException"/> once more than the limit
/// have been read, so a document without a declared length is cut off as it arrives.</summary>
public sealed class LimitedStream(Stream inner, long limit) : ReadOnlyStream
{
    public long BytesRead { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int read)
    {
        BytesRead += read;
        if (BytesRead > limit) throw new MemoTooLargeException(limit);
        return read;
    }

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
}
