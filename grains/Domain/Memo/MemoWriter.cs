using System.Buffers;
using System.Globalization;
using System.Text;
using System.Xml;
using DigitalPost.Contracts;

namespace DigitalPost.Domain.Memo;

/// <summary>Writes the platform's <see cref="Message"/> as a MeMo 1.1 or 1.2 document with <see cref="XmlWriter"/>: each
/// file's bytes are taken from the message where it carries them, or streamed from a <see cref="MemoFileSource"/> (the
/// document store) and encoded as base64 a block at a time, so no document is ever whole in memory.</summary>
public static class MemoWriter
{
    // A multiple of 3: each block encodes to whole base64 quanta.
    private const int Block = 48 * 1024;

    public static async Task Write(Stream output, Message message, MemoExtras extras, MemoFileSource source, CancellationToken cancellationToken = default)
    {
        if (!Memo.Versions.Contains(extras.MemoVersion)) throw new ArgumentException($"MeMo {extras.MemoVersion} is not written; 1.1 and 1.2 are.", nameof(extras));
        var settings = new XmlWriterSettings { Async = true, Encoding = new UTF8Encoding(false), CloseOutput = false };
        await using var xml = XmlWriter.Create(output, settings);
        await xml.WriteStartDocumentAsync();
        await xml.WriteStartElementAsync(Memo.Prefix, "Message", Memo.Namespace);
        await xml.WriteAttributeStringAsync(null, "memoVersion", null, extras.MemoVersion);
        if (extras.MemoVersion == "1.1") await xml.WriteAttributeStringAsync(null, "memoSchVersion", null, Memo.SchemaVersion11);
        await WriteHeader(xml, message.Header, extras);
        await WriteBody(xml, message, extras, source, cancellationToken);
        await xml.WriteEndElementAsync();
        await xml.WriteEndDocumentAsync();
        await xml.FlushAsync();
    }

    private static async Task WriteHeader(XmlWriter xml, MessageHeader header, MemoExtras extras)
    {
        await Start(xml, "MessageHeader");
        await Leaf(xml, "messageType", header.MessageType == MessageType.NemSms ? "NEMSMS" : "DIGITALPOST");
        await Leaf(xml, "messageUUID", header.MessageUuid.ToString());
        await Leaf(xml, "messageID", extras.MessageId);
        await Leaf(xml, "label", header.Label);
        await Leaf(xml, "notification", header.Notification);
        await Leaf(xml, "mandatory", Flag(header.Mandatory));
        await Leaf(xml, "legalNotification", Flag(header.LegalNotification));
        if (header.Reply) await Leaf(xml, "reply", Flag(true));
        await Leaf(xml, "replyByDateTime", Time(header.ReplyByDateTime));
        await Leaf(xml, "doNotDeliverUntilDate", header.DoNotDeliverUntilDate?.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

        await Start(xml, "Sender");
        await Leaf(xml, "senderID", header.Sender.SenderId);
        await Leaf(xml, "idType", header.Sender.IdType == RecipientIdType.Cpr ? "CPR" : "CVR");
        await Leaf(xml, "label", header.Sender.Label ?? header.Sender.SenderId);
        await xml.WriteEndElementAsync();

        await Start(xml, "Recipient");
        await Leaf(xml, "recipientID", header.Recipient.RecipientId);
        await Leaf(xml, "idType", header.Recipient.IdType == RecipientIdType.Cpr ? "CPR" : "CVR");
        await Leaf(xml, "label", header.Recipient.Label);
        if (header.Recipient.ContactPointId is { } contactPoint)
        {
            await Start(xml, "ContactPoint");
            await Leaf(xml, "contactPointID", contactPoint);
            await xml.WriteEndElementAsync();
        }
        await xml.WriteEndElementAsync();

        if (header.ContentData is { } content && (content.CaseId is not null || content.KleNumber is not null))
        {
            await Start(xml, "ContentData");
            if (content.CaseId is not null)
            {
                await Start(xml, "CaseID");
                await Leaf(xml, "caseID", content.CaseId);
                await xml.WriteEndElementAsync();
            }
            if (content.KleNumber is not null)
            {
                await Start(xml, "KLEdata");
                await Leaf(xml, "subjectKey", content.KleNumber);
                await xml.WriteEndElementAsync();
            }
            await xml.WriteEndElementAsync();
        }
        foreach (var answered in header.ReplyData ?? [])
        {
            await Start(xml, "ReplyData");
            await Leaf(xml, "messageUUID", answered.MessageUuid.ToString());
            await xml.WriteEndElementAsync();
        }
        await xml.WriteEndElementAsync();
    }

    private static async Task WriteBody(XmlWriter xml, Message message, MemoExtras extras, MemoFileSource source, CancellationToken cancellationToken)
    {
        await Start(xml, "MessageBody");
        await Leaf(xml, "createdDateTime", Time(extras.CreatedDateTime ?? DateTimeOffset.UtcNow));
        var additional = message.Body.AdditionalDocuments?.Count ?? 0;
        var documents = MessageDocuments.All(message.Body);
        for (var d = 0; d < documents.Count; d++)
        {
            var document = documents[d];
            await Start(xml, d == 0 ? "MainDocument" : d <= additional ? "AdditionalDocument" : "TechnicalDocument");
            if (document.Label.Length > 0) await Leaf(xml, "label", document.Label);
            for (var f = 0; f < document.Files.Count; f++)
                await WriteFile(xml, new DocumentKey(message.Header.MessageUuid, d, f), document.Files[f], source, cancellationToken);
            foreach (var action in document.Actions ?? []) await WriteAction(xml, action);
            await xml.WriteEndElementAsync();
        }
        await xml.WriteEndElementAsync();
    }

    private static async Task WriteFile(XmlWriter xml, DocumentKey key, DocumentFile file, MemoFileSource source, CancellationToken cancellationToken)
    {
        await Start(xml, "File");
        await Leaf(xml, "encodingFormat", file.EncodingFormat);
        await Leaf(xml, "filename", file.Filename);
        await Leaf(xml, "language", file.Language);
        await Start(xml, "content");
        if (file.Content.Length > 0) await xml.WriteBase64Async(file.Content, 0, file.Content.Length);
        else
        {
            await using var content = await source(key, file, cancellationToken)
                ?? throw new InvalidOperationException($"The file {key.PartName()} of message {key.MessageUuid} has no bytes to write.");
            var buffer = ArrayPool<byte>.Shared.Rent(Block);
            try
            {
                int read;
                while ((read = await content.ReadAtLeastAsync(buffer.AsMemory(0, Block), Block, throwOnEndOfStream: false, cancellationToken)) > 0)
                    await xml.WriteBase64Async(buffer, 0, read);
            }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
        }
        await xml.WriteEndElementAsync();
        await xml.WriteEndElementAsync();
    }

    private static async Task WriteAction(XmlWriter xml, DocumentAction action)
    {
        await Start(xml, "Action");
        await Leaf(xml, "label", action.Label);
        await Leaf(xml, "actionCode", Memo.ActionCodeName(action.ActionCode));
        await Leaf(xml, "startDateTime", Time(action.StartDateTime));
        await Leaf(xml, "endDateTime", Time(action.EndDateTime));
        if (action.EntryPoint is { } url)
        {
            await Start(xml, "EntryPoint");
            await Leaf(xml, "url", url.ToString());
            await xml.WriteEndElementAsync();
        }
        else
        {
            await Start(xml, "Reservation");
            await Leaf(xml, "description", action.Reservation);
            await xml.WriteEndElementAsync();
        }
        await xml.WriteEndElementAsync();
    }

    private static Task Start(XmlWriter xml, string name) => xml.WriteStartElementAsync(Memo.Prefix, name, Memo.Namespace);

    private static async Task Leaf(XmlWriter xml, string name, string? value)
    {
        if (value is null) return;
        await xml.WriteElementStringAsync(Memo.Prefix, name, Memo.Namespace, value);
    }

    private static string Flag(bool value) => value ? "true" : "false";

    private static string? Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}
