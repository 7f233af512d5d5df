using System.Globalization;
using DigitalPost.Contracts;
using DigitalPost.Domain;
using DigitalPost.Domain.Memo;
using DigitalPost.Infrastructure;
using DigitalPost.Ngdp;
using Microsoft.Extensions.Options;

namespace DigitalPost.Silo.Ngdp;

/// <summary>What taking one MeMo in came to: its receipt (taken in, or refused with a stored receipt in a
/// transmission of several), or the HTTP status and error of a refusal.</summary>
public sealed record MemoTaken(NgdpReceipt? Receipt, int Status, ErrorMessage? Error, Guid? MessageUuid = null, string? MessageId = null);

/// <summary>Takes MeMo documents in from sender systems: reads each as it streams (files straight into the document
/// store), checks it (MeMo's rules, the sender, the platform's rules), records its receipt before its message grain
/// sees it (so the grain's final state always finds the receipt to complete), and submits it.</summary>
public sealed class NgdpMemoIntake(IGrainFactory grains, IDocumentStore documents, INgdpReceiptStore receipts, ISingleMessageStore singles,
    TimeProvider time, IOptions<ResendFlowOptions> options)
{
    public const string Resource = "memo";

    public async Task<MemoTaken> TakeOne(Stream document, Guid? expectedUuid, AuthenticatedSender sender, Guid transmissionId, CancellationToken cancellationToken)
    {
        Guid? stored = null;
        async Task<(long, string)> Sink(DocumentKey key, Stream content, CancellationToken token)
        {
            var put = await documents.Put(key, content, token);
            if (put.Outcome != DocumentPutOutcome.AlreadyStored) stored = key.MessageUuid;
            return (put.Length, put.Sha256);
        }

        var accepted = false;
        try
        {
            var read = await MemoReader.Read(document, Sink, expectedUuid, cancellationToken);
            MemoTaken Refused(int status, string code, string message, IReadOnlyList<MemoError> errors) => new(null, status,
                new ErrorMessage(code, message, [.. errors.Select(e => new FieldError(Resource, e.Path, e.Code, e.Message, e.RejectedValue))]),
                read.MessageUuid, read.MessageId);
            if (read.IsTooLarge)
                return Refused(StatusCodes.Status413PayloadTooLarge, "MESSAGE_TOO_LARGE",
                    $"The MeMo is more than {Limit} bytes (99.5 MB), the most Digital Post accepts", read.Errors);
            if (!read.IsValid) return Refused(StatusCodes.Status400BadRequest, "INVALID", "The MeMo is not valid", read.Errors);
            var message = read.Message!;
            var uuid = message.Header.MessageUuid;
            if (message.Header.Sender.SenderId != sender.Cvr)
                return Refused(StatusCodes.Status403Forbidden, "NOT_ALLOWED", "The MeMo's sender is not the authority this sender system sends for",
                    [new MemoError("/Message/MessageHeader/Sender/senderID", "NOT_ALLOWED", $"is not {sender.Cvr}, the CVR number of the authenticated sender", message.Header.Sender.SenderId)]);
            var now = time.GetUtcNow();
            var rules = MessageRules.Validate(message, now, options.Value);
            if (rules.Count > 0) return Refused(StatusCodes.Status400BadRequest, "INVALID", "The MeMo is not valid", rules.Select(ToMemo).ToList());

            var receipt = new NgdpReceipt(uuid, sender.Id, transmissionId, read.MessageId, ReceiptStatus.Received, null, null, now);
            var added = (await receipts.Add([receipt])).Contains(uuid);
            SubmitResult result;
            try { result = await grains.GetGrain<IMessageGrain>(uuid).Submit(message); }
            catch (ValidationException invalid)
            {
                if (added) await receipts.Delete(sender.Id, uuid);
                return Refused(StatusCodes.Status400BadRequest, "INVALID", "The MeMo is not valid", invalid.Errors.Select(ToMemo).ToList());
            }
            if (result.Outcome == SubmitOutcome.Conflict)
            {
                if (added) await receipts.Delete(sender.Id, uuid);
                return Refused(StatusCodes.Status400BadRequest, "MESSAGE_UUID_CONFLICT", "A message with this messageUUID and other content was sent before",
                    [new MemoError("/Message/MessageHeader/messageUUID", "CONFLICT", "is the UUID of another message", uuid.ToString())]);
            }
            accepted = true;
            // Recorded again for a repeat: the first intake may have stopped before it recorded the message.
            await singles.Record(new SingleMessage(uuid, sender.Id, message.Header.Recipient.RecipientId, now));
            // The same MeMo again: its receipt as it stands. One that was read and deleted before is made again, as
            // far as the message has come.
            if (result.Outcome == SubmitOutcome.Duplicate && added && result.Status.IsFinal())
                await receipts.Finished(new MessageOutcome(uuid, result.Status, null, null, now));
            // Taken in now: RECEIVED, however far the message may have come meanwhile (a citizen's mailbox takes it at once).
            return new MemoTaken(result.Outcome == SubmitOutcome.Accepted ? receipt : await receipts.Find(sender.Id, uuid) ?? receipt, StatusCodes.Status201Created, null);
        }
        finally
        {
            // A MeMo not taken leaves nothing in the store, unless a message of its id was accepted (and owns its files).
            if (!accepted && stored is { } uuid) await grains.GetGrain<IMessageGrain>(uuid).DiscardDocuments();
        }
    }

    /// <summary>Takes each MeMo of a tar.lzma in turn. A MeMo that is refused gets a receipt saying why (stored when its
    /// messageUUID is known), so one bad file does not refuse the others.</summary>
    public async Task<IReadOnlyList<Receipt>> TakeArchive(Stream archive, AuthenticatedSender sender, CancellationToken cancellationToken)
    {
        var transmission = Guid.NewGuid();
        var answers = new List<Receipt>();
        var refused = new List<NgdpReceipt>();
        var files = 0;
        await MemoArchive.ReadEach(archive, async (name, entry) =>
        {
            if (++files > NgdpApi.MaxMemosPerTransmission)
                throw new ValidationException([new ValidationError("file", $"holds more than {NgdpApi.MaxMemosPerTransmission:N0} MeMo files")]);
            // The entry's UUID, if it has one, is read as the MeMo is: a refused MeMo's receipt names it.
            var taken = await TakeOne(entry, null, sender, transmission, cancellationToken);
            if (taken.Receipt is { } receipt)
            {
                answers.Add(Receipt.Of(receipt));
                return;
            }
            var error = taken.Error!;
            var first = error.FieldErrors.FirstOrDefault();
            var text = $"{name}: {error.Message}" + (first is null ? "" : $" ({first.Field} {first.Message})");
            var status = taken.Status == StatusCodes.Status403Forbidden ? ReceiptStatus.NotAllowed : ReceiptStatus.Invalid;
            var uuid = taken.MessageUuid;
            var refusal = new NgdpReceipt(uuid ?? Guid.Empty, sender.Id, transmission, taken.MessageId, status, error.Code, text, time.GetUtcNow());
            if (uuid is not null) refused.Add(refusal);
            answers.Add(Receipt.Of(refusal) with { MessageUUID = uuid });
        }, cancellationToken);
        await receipts.Add(refused);
        return answers;
    }

    private static string Limit => Memo.MaxBytes.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A platform rule's error (named by its JSON path) at the MeMo element it is about.</summary>
    private static MemoError ToMemo(ValidationError error)
    {
        var path = error.Field switch
        {
            "header.doNotDeliverUntilDate" => "/Message/MessageHeader/doNotDeliverUntilDate",
            "header.sender.senderId" => "/Message/MessageHeader/Sender/senderID",
            "header.recipient.recipientId" => "/Message/MessageHeader/Recipient/recipientID",
            "channel" => "/Message/MessageHeader/messageType",
            var field when field.StartsWith("body", StringComparison.Ordinal) => "/Message/MessageBody",
            _ => "/Message/MessageHeader",
        };
        return new MemoError(path, MemoError.Invalid, error.Reason);
    }
}
