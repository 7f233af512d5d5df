using DigitalPost.Contracts;
using DigitalPost.Infrastructure;

namespace DigitalPost.Grains;

/// <summary>Where a message that no receiver system takes went, for its grain to record.</summary>
public sealed record OutsideDelivery(DeliveryTarget Target, MessageStatus Status, MessageEventKind Event, string Detail);

/// <summary>Delivers a message outside receiver systems: citizens' Digital Post to their mailbox at once, physical post
/// to the print queue, NemSMS as such. None of these runs a resend flow, so the message grain only records where it went.</summary>
public sealed class OutsideReceiverSystems(IGrainFactory grains, ICitizenLaneStore citizens)
{
    public async Task<OutsideDelivery> Deliver(Guid uuid, Message message, DateTimeOffset now)
    {
        var header = message.Header;
        CitizenLetter Letter() => new(uuid, header.Recipient.RecipientId, header.Sender.SenderId, header.Label, now);
        switch (message.Channel)
        {
            case DeliveryChannel.PhysicalPost:
                var printed = 1 + (message.Body.AdditionalDocuments?.Count ?? 0);
                var stored = MessageDocuments.Files(message).Where(f => f.File.IsStored()).Select(f => f.Key).ToList();
                await grains.GetGrain<IPrintQueueGrain>(0).Enqueue(new PrintJob(uuid, header.Recipient.Address ?? [], printed,
                    StoredFiles: stored.Count > 0 ? stored : null));
                return new(DeliveryTarget.RemotePrint, MessageStatus.SentToPrint, MessageEventKind.SentToPrint, "sent to the remote-print provider (physical post)");
            case DeliveryChannel.NemSms:
                await citizens.Append(LetterLane.NemSms, [Letter()]);
                return new(DeliveryTarget.NemSms, MessageStatus.SentAsNemSms, MessageEventKind.SentAsNemSms, "sent as NemSMS");
            default:
                // Before the letter lands: the notifier's durable wake-up is then there for it, whatever happens after.
                await grains.GetGrain<INotifierGrain>(0).Start();
                await citizens.Append(LetterLane.CitizenMailbox, [Letter()]);
                return new(DeliveryTarget.CitizenMailbox, MessageStatus.Delivered, MessageEventKind.DeliveredToMailbox, "delivered to the recipient's Digital Post mailbox");
        }
    }
}
