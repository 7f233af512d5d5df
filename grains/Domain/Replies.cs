using DigitalPost.Contracts;

namespace DigitalPost.Domain;

/// <summary>The rules of post from citizens and companies to an authority (SF1606): it goes to a CVR, and a reply
/// answers a letter that this sender got from that authority, that allowed replies, within its reply-by time.</summary>
public static class Replies
{
    private const string ReplyField = "header.replyData[0].messageUuid";

    public static IReadOnlyList<ValidationError> CheckIncoming(MessageHeader header)
    {
        var errors = new List<ValidationError>();
        if (header.Recipient is { IdType: not RecipientIdType.Cvr })
            errors.Add(new("header.recipient.idType", "post from citizens and companies goes to an authority, named by its CVR"));
        if (header.ReplyData is { Count: > 1 } many)
            errors.Add(new("header.replyData", $"names {many.Count} letters; a reply answers one"));
        if (header.ReplyData?.Any(r => r is null) == true)
            errors.Add(new("header.replyData", "holds a null; each entry names the messageUuid of the letter answered"));
        return errors;
    }

    /// <summary>What is wrong with a reply to <paramref name="original"/> (null: no letter of that id). A letter sent
    /// to someone else is answered as if it did not exist, so nobody learns of other people's letters.</summary>
    public static IReadOnlyList<ValidationError> CheckReply(ReplyTerms? original, Guid answered, MessageHeader reply, DateTimeOffset now)
    {
        if (original is null || original.RecipientId != reply.Sender.SenderId || original.RecipientKind != reply.Sender.IdType)
            return [new(ReplyField, $"no letter {answered} was sent to this sender")];
        var errors = new List<ValidationError>();
        if (original.SenderCvr != reply.Recipient.RecipientId)
            errors.Add(new("header.recipient.recipientId", $"letter {answered} was sent by {original.SenderCvr}; a reply goes to the letter's sender"));
        if (!original.ReplyAllowed)
            errors.Add(new(ReplyField, $"letter {answered} does not allow replies"));
        else if (original.ReplyBy is { } by && now > by)
            errors.Add(new(ReplyField, $"the reply-by time of letter {answered}, {by:O}, has passed"));
        return errors;
    }
}
