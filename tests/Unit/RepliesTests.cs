using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public sealed class RepliesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);
    private const string Citizen = "0101901234";
    private const string Authority = "29189846";
    private static readonly Guid Letter = Guid.NewGuid();

    private static ReplyTerms Terms(bool allowed = true, DateTimeOffset? by = null) =>
        new(Letter, Authority, Citizen, RecipientIdType.Cpr, allowed, by, "Indkaldelse");

    private static MessageHeader Reply(string from = Citizen, RecipientIdType kind = RecipientIdType.Cpr, string to = Authority) =>
        new(Guid.NewGuid(), "Svar", new Sender(from, IdType: kind), new Recipient(to), ReplyData: [new ReplyData(Letter)]);

    private static IEnumerable<(string, string)> Check(ReplyTerms? terms, MessageHeader reply) =>
        Replies.CheckReply(terms, Letter, reply, Now).Select(e => (e.Field, e.Reason));

    [Fact]
    public void A_reply_from_the_letters_recipient_to_its_sender_within_the_time_is_taken()
    {
        Assert.Empty(Check(Terms(), Reply()));
        Assert.Empty(Check(Terms(by: Now), Reply()));
    }

    [Fact]
    public void A_letter_of_someone_else_reads_as_no_letter_at_all()
    {
        var unknown = Assert.Single(Check(null, Reply()));
        Assert.Equal(unknown, Assert.Single(Check(Terms(), Reply(from: "0202901234"))));
        Assert.Equal(unknown, Assert.Single(Check(Terms(), Reply(kind: RecipientIdType.Cvr))));
        Assert.Contains("no letter", unknown.Item2);
    }

    [Fact]
    public void A_reply_goes_to_the_letters_sender_only_if_the_letter_allows_it_and_not_after_its_reply_by_time()
    {
        Assert.Equal("header.recipient.recipientId", Assert.Single(Check(Terms(), Reply(to: "12345674"))).Item1);
        Assert.Contains("does not allow replies", Assert.Single(Check(Terms(allowed: false), Reply())).Item2);
        Assert.Contains("has passed", Assert.Single(Check(Terms(by: Now.AddTicks(-1)), Reply())).Item2);
    }

    [Fact]
    public void Incoming_post_goes_to_a_CVR_and_answers_at_most_one_letter()
    {
        Assert.Empty(Replies.CheckIncoming(Reply()));
        Assert.Equal(["header.recipient.idType"], Replies.CheckIncoming(Reply() with { Recipient = new Recipient(Citizen, RecipientIdType.Cpr) }).Select(e => e.Field));
        Assert.Equal(["header.replyData"], Replies.CheckIncoming(Reply() with { ReplyData = [new(Guid.NewGuid()), new(Guid.NewGuid())] }).Select(e => e.Field));
    }
}
