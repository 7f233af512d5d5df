using DigitalPost.Contracts;

namespace DigitalPost.Domain.MassSending;

/// <summary>A letter that a bulk lane moved, as its message grain would show it: the letter has no message grain of
/// its own, so its status and history are made from its row.</summary>
public static class BulkLetterView
{
    /// <summary>Null when the letter is its message grain's (that grain shows it).</summary>
    public static MessageStatusView? Of(LetterRecord letter, DateTimeOffset batchAcceptedAt)
    {
        var uuid = letter.MessageUuid!.Value;
        var at = letter.PushedAt ?? batchAcceptedAt;
        MessageEvent accepted = new(at, MessageEventKind.Accepted, "accepted with its batch");
        switch (letter.Lane)
        {
            case LetterLane.ReceiverSystem when letter.BulkSystem is not null:
                var system = ReceiverSystemKey.Parse(letter.BulkSystem).SystemId;
                var delivered = letter.State == LetterState.Delivered;
                var attempt = new DeliveryAttempt(1, system, at, delivered ? AttemptOutcome.Positive : AttemptOutcome.Pending, letter.DeliveredAt);
                List<MessageEvent> history =
                [
                    accepted,
                    new(at, MessageEventKind.Pushed, "attempt 1 pushed with its batch; awaiting the business receipt", system),
                    .. delivered ? [new MessageEvent(letter.DeliveredAt ?? at, MessageEventKind.ReceiptPositive, "delivered: positive business receipt", system)] : Array.Empty<MessageEvent>(),
                ];
                return new MessageStatusView(uuid, delivered ? MessageStatus.Delivered : MessageStatus.AwaitingReceipt, letter.RecipientId, null,
                    new DeliveryTarget(DeliveryTargetKind.ReceiverSystem, system), at, null, null, [attempt], history, null, null);
            case LetterLane.CitizenMailbox:
                return new MessageStatusView(uuid, MessageStatus.Delivered, letter.RecipientId, null, DeliveryTarget.CitizenMailbox, at, null, null, [],
                    [accepted, new(letter.DeliveredAt ?? at, MessageEventKind.DeliveredToMailbox, "delivered to the recipient's Digital Post mailbox with its batch")],
                    null, null);
            case LetterLane.NemSms:
                return new MessageStatusView(uuid, MessageStatus.SentAsNemSms, letter.RecipientId, null, DeliveryTarget.NemSms, at, null, null, [],
                    [accepted, new(letter.DeliveredAt ?? at, MessageEventKind.SentAsNemSms, "sent as NemSMS with its batch")], null, null);
            case LetterLane.Print:
                var status = letter.State switch
                {
                    LetterState.Printed => MessageStatus.Printed,
                    LetterState.HandedToPostalService => MessageStatus.HandedToPostalService,
                    _ => MessageStatus.SentToPrint,
                };
                List<MessageEvent> steps = [accepted, new(at, MessageEventKind.SentToPrint, "sent to the remote-print provider (physical post) with its batch")];
                // The row keeps the time of its last print step only.
                if (status == MessageStatus.Printed) steps.Add(new(letter.DeliveredAt ?? at, MessageEventKind.Printed, "printed"));
                if (status == MessageStatus.HandedToPostalService) steps.Add(new(letter.DeliveredAt ?? at, MessageEventKind.HandedToPostalService, "printed and handed to the postal service"));
                return new MessageStatusView(uuid, status, letter.RecipientId, null, DeliveryTarget.RemotePrint, at, null, null, [], steps, null, null);
            default:
                return null;
        }
    }
}
