using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>Makes the message for one letter of a batch: the letter's PDF as main document, the common and the row's
/// own attachments as additional documents, and the batch's options in the header. The PDF is not carried but named by
/// its location: laying out a letter costs milliseconds of CPU, so it is done when the letter is opened, not for
/// every letter sent.</summary>
public static class LetterFactory
{
    public static Message Create(Guid messageUuid, BatchHeader batch, Guid batchId, BatchRow row, int copy,
        RecipientInfo recipient, DeliveryChannel channel, int partition = 0)
    {
        var options = batch.Options;
        var label = copy == 0 ? options.Label : $"Kopi: {options.Label}";
        var actions = options.Actions?.Select(a => new DocumentAction(a.Code, a.Label, a.EntryPoint, a.Reservation, null, a.EndDateTime)).ToList();
        var attachments = Attachments(batch, row)
            .Select(a => new Document(a.Filename, [new DocumentFile(a.Filename, a.ContentType, a.Content)]))
            .ToList();
        var header = new MessageHeader(
            messageUuid, label, new Sender(batch.SenderCvr, batch.SenderName),
            new Recipient(recipient.Id, recipient.Kind == RecipientKind.Cpr ? RecipientIdType.Cpr : RecipientIdType.Cvr,
                Label: recipient.Name, ProductionUnit: copy == 0 ? row.PNumber : null, Address: recipient.Address.Count > 0 ? recipient.Address : null),
            MessageType: channel == DeliveryChannel.NemSms ? MessageType.NemSms : MessageType.DigitalPost,
            Reply: options.ReplyAllowed,
            DoNotDeliverUntilDate: options.ValoerDate);
        var main = new Document(label, [new DocumentFile("brev.pdf", "application/pdf", [], Location: DocumentLocation(messageUuid))], actions is { Count: > 0 } ? actions : null);
        return new Message(header, new MessageBody(main, attachments.Count > 0 ? attachments : null), channel, new BatchRef(batchId, row.Row, copy, partition));
    }

    /// <summary>Where the platform renders the letter's PDF on request (<c>GET</c>, relative to the platform's address).</summary>
    public static Uri DocumentLocation(Guid messageUuid) => new($"/api/letters/{messageUuid}/document.pdf", UriKind.Relative);

    public static IEnumerable<Attachment> Attachments(BatchHeader batch, BatchRow row) =>
        batch.CommonAttachments.Concat(row.Attachments.Select(name => batch.IndividualAttachments.First(a => a.Filename == name)));

    /// <summary>What a reply to a batch's letter must agree with: the batch's sender and options, and the recipient as
    /// the letter's record names them (eight digits are a CVR number; empty when the record names none).</summary>
    public static ReplyTerms ReplyTerms(BatchHeader batch, Guid messageUuid, BatchRef letter, string recipient) =>
        new(messageUuid, batch.SenderCvr, recipient, recipient.Length == 8 ? RecipientIdType.Cvr : RecipientIdType.Cpr,
            batch.Options.ReplyAllowed, null, batch.Options.Label, batch.SenderId, letter);

    /// <summary>The lines above the letter's text: the recipient's name and, when known, postal address.</summary>
    public static IReadOnlyList<string> RecipientLines(RecipientInfo recipient) =>
        [.. new[] { recipient.Name }.OfType<string>(), .. recipient.Address];
}
