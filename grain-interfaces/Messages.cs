namespace DigitalPost.Contracts;

// The message, shaped after MeMo 1.1 (namespace https://DigitalPost.dk/MeMo-1): a header and a body.

[GenerateSerializer, Alias("dp.MessageType")]
public enum MessageType { DigitalPost, NemSms }

[GenerateSerializer, Alias("dp.RecipientIdType")]
public enum RecipientIdType { Cvr, Cpr }

/// <summary>Document actions (handlinger).</summary>
[GenerateSerializer, Alias("dp.ActionCode")]
public enum ActionCode { Aftale, Betaling, Selvbetjening, Information, Underskriv, Bekraeft, Forberedelse, Tilmelding }

[GenerateSerializer, Immutable, Alias("dp.Sender")]
public sealed record Sender(
    [property: Id(0)] string SenderId,
    [property: Id(1)] string? Label = null,
    /// <summary>An authority sends as its CVR; a citizen (CPR) or a company (CVR) sends post to an authority.</summary>
    [property: Id(2)] RecipientIdType IdType = RecipientIdType.Cvr);

[GenerateSerializer, Immutable, Alias("dp.Recipient")]
public sealed record Recipient(
    [property: Id(0)] string RecipientId,
    [property: Id(1)] RecipientIdType IdType = RecipientIdType.Cvr,
    [property: Id(2)] string? ContactPointId = null,
    [property: Id(3)] string? Label = null,
    /// <summary>A production unit (P-nummer) of a CVR recipient.</summary>
    [property: Id(4)] string? ProductionUnit = null,
    /// <summary>Postal address lines, for letters sent by physical post.</summary>
    [property: Id(5)] IReadOnlyList<string>? Address = null);

[GenerateSerializer, Immutable, Alias("dp.ContentData")]
public sealed record ContentData([property: Id(0)] string? CaseId = null, [property: Id(1)] string? KleNumber = null);

/// <summary>A reply's reference to the letter it answers (MeMo's ReplyData).</summary>
[GenerateSerializer, Immutable, Alias("dp.ReplyData")]
public sealed record ReplyData([property: Id(0)] Guid MessageUuid);

[GenerateSerializer, Immutable, Alias("dp.MessageHeader")]
public sealed record MessageHeader(
    [property: Id(0)] Guid MessageUuid,
    [property: Id(1)] string Label,
    [property: Id(2)] Sender Sender,
    [property: Id(3)] Recipient Recipient,
    [property: Id(4)] MessageType MessageType = MessageType.DigitalPost,
    [property: Id(5)] string? Notification = null,
    [property: Id(6)] bool Mandatory = false,
    [property: Id(7)] bool LegalNotification = false,
    [property: Id(8)] bool Reply = false,
    [property: Id(9)] DateTimeOffset? ReplyByDateTime = null,
    /// <summary>Valør date: delivery waits until this date (at most 12 days ahead by default).</summary>
    [property: Id(10)] DateTimeOffset? DoNotDeliverUntilDate = null,
    [property: Id(11)] ContentData? ContentData = null,
    /// <summary>Set on a reply (besvarelse): the letter it answers. At most one.</summary>
    [property: Id(12)] IReadOnlyList<ReplyData>? ReplyData = null);

[GenerateSerializer, Immutable, Alias("dp.DocumentFile")]
public sealed record DocumentFile(
    [property: Id(0)] string Filename,
    [property: Id(1)] string EncodingFormat,
    [property: Id(2)] byte[] Content,
    [property: Id(3)] string Language = "da",
    /// <summary>Where the file is fetched when it is not carried (Content empty): merge letters are rendered when they
    /// are opened, not when they are sent; a file in the document store is read at the platform's documents endpoint.</summary>
    [property: Id(4)] Uri? Location = null,
    /// <summary>The size of a file whose bytes are in the platform's document store rather than carried here.</summary>
    [property: Id(5)] long? Length = null,
    /// <summary>SHA-256 (hex) of a stored file's bytes: part of the message's fingerprint, so the same messageUUID sent
    /// again with other bytes is a conflict, not a duplicate. Set by the platform, never taken from a sender.</summary>
    [property: Id(6)] string? Sha256 = null);

/// <summary>A file of a message in the document store: its document's place in the body (0 is the main document, then
/// the additional and then the technical documents, in order) and its place in that document.</summary>
[GenerateSerializer, Immutable, Alias("dp.DocumentKey")]
public readonly record struct DocumentKey([property: Id(0)] Guid MessageUuid, [property: Id(1)] int Document, [property: Id(2)] int File)
{
    /// <summary>Where the platform serves the file (relative to its address).</summary>
    public Uri ToLocation() => new($"/api/messages/{MessageUuid}/documents/{Document}/files/{File}", UriKind.Relative);

    /// <summary>The name of the multipart part that carries the file's bytes when a message is sent as multipart.</summary>
    public string PartName() => $"documents/{Document}/files/{File}";
}

[GenerateSerializer, Immutable, Alias("dp.DocumentAction")]
public sealed record DocumentAction(
    [property: Id(0)] ActionCode ActionCode,
    [property: Id(1)] string Label,
    [property: Id(2)] Uri? EntryPoint = null,
    [property: Id(3)] string? Reservation = null,
    [property: Id(4)] DateTimeOffset? StartDateTime = null,
    [property: Id(5)] DateTimeOffset? EndDateTime = null);

[GenerateSerializer, Immutable, Alias("dp.Document")]
public sealed record Document(
    [property: Id(0)] string Label,
    [property: Id(1)] IReadOnlyList<DocumentFile> Files,
    [property: Id(2)] IReadOnlyList<DocumentAction>? Actions = null);

[GenerateSerializer, Immutable, Alias("dp.MessageBody")]
public sealed record MessageBody(
    [property: Id(0)] Document MainDocument,
    [property: Id(1)] IReadOnlyList<Document>? AdditionalDocuments = null,
    [property: Id(2)] IReadOnlyList<Document>? TechnicalDocuments = null);

[GenerateSerializer, Immutable, Alias("dp.Message")]
public sealed record Message(
    [property: Id(0)] MessageHeader Header,
    [property: Id(1)] MessageBody Body,
    /// <summary>How the message travels; the recipient check of a merge batch decides it.</summary>
    [property: Id(2)] DeliveryChannel Channel = DeliveryChannel.DigitalPost,
    /// <summary>The batch row the message was made from, if any: its status changes flow to that batch.</summary>
    [property: Id(3)] BatchRef? Batch = null);

/// <summary>A message's documents and files by their places, as <see cref="DocumentKey"/> counts them.</summary>
public static class MessageDocuments
{
    /// <summary>The main document, then the additional and the technical documents.</summary>
    public static IReadOnlyList<Document> All(MessageBody body) =>
        [body.MainDocument, .. body.AdditionalDocuments ?? [], .. body.TechnicalDocuments ?? []];

    /// <summary>The JSON path of the document at <paramref name="document"/>, as validation errors name it.</summary>
    public static string PathOf(MessageBody body, int document)
    {
        var additional = body.AdditionalDocuments?.Count ?? 0;
        return document == 0 ? "body.mainDocument"
            : document <= additional ? $"body.additionalDocuments[{document - 1}]"
            : $"body.technicalDocuments[{document - 1 - additional}]";
    }

    public static IEnumerable<(DocumentKey Key, DocumentFile File)> Files(Message message) =>
        All(message.Body).SelectMany((document, d) => (document.Files ?? []).Select((file, f) => (new DocumentKey(message.Header.MessageUuid, d, f), file)));

    /// <summary>The message with each file replaced by <paramref name="map"/>'s answer.</summary>
    public static Message MapFiles(Message message, Func<DocumentKey, DocumentFile, DocumentFile> map)
    {
        var next = 0;
        Document Map(Document document)
        {
            var d = next++;
            return document with { Files = [.. (document.Files ?? []).Select((file, f) => map(new DocumentKey(message.Header.MessageUuid, d, f), file))] };
        }
        var body = message.Body;
        var main = Map(body.MainDocument);
        var additional = body.AdditionalDocuments?.Select(Map).ToList();
        var technical = body.TechnicalDocuments?.Select(Map).ToList();
        return message with { Body = body with { MainDocument = main, AdditionalDocuments = additional, TechnicalDocuments = technical } };
    }

    /// <summary>Whether the file's bytes are in the document store (under its message's id and its place).</summary>
    public static bool IsStored(this DocumentFile file) => file.Sha256 is not null;
}
