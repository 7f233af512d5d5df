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
public sealed record Sender([property: Id(0)] string SenderId, [property: Id(1)] string? Label = null);

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
    [property: Id(11)] ContentData? ContentData = null);

[GenerateSerializer, Immutable, Alias("dp.DocumentFile")]
public sealed record DocumentFile(
    [property: Id(0)] string Filename,
    [property: Id(1)] string EncodingFormat,
    [property: Id(2)] byte[] Content,
    [property: Id(3)] string Language = "da",
    /// <summary>Where the file is fetched when it is not carried (Content empty): merge letters are rendered when they
    /// are opened, not when they are sent.</summary>
    [property: Id(4)] Uri? Location = null);

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
