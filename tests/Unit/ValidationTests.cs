using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public class ValidationTests
{
    private static readonly DateTimeOffset Now = TestMessages.Now;
    private static readonly ResendFlowOptions Options = new();

    private static IReadOnlyList<ValidationError> Validate(Message message) => MessageRules.Validate(message, Now, Options);

    private static void AssertOnlyError(Message message, string field)
    {
        var error = Assert.Single(Validate(message));
        Assert.Equal(field, error.Field);
        Assert.False(string.IsNullOrWhiteSpace(error.Reason));
    }

    /// <summary>Appends the modulus-11 check digit (weights 2,7,6,5,4,3,2 and 1 for the check digit itself).</summary>
    private static string WithCheckDigit(string sevenDigits)
    {
        int[] weights = [2, 7, 6, 5, 4, 3, 2];
        var sum = sevenDigits.Select((c, i) => (c - '0') * weights[i]).Sum();
        var check = (11 - sum % 11) % 11;
        Assert.True(check < 10, $"{sevenDigits} has no valid check digit; pick another base");
        return sevenDigits + check;
    }

    [Theory]
    [InlineData("1000000", "10000009")]
    [InlineData("2958510", "29585105")]
    [InlineData("5566778", "55667780")]
    public void Cvr_is_valid_when_its_weighted_sum_is_divisible_by_11(string sevenDigits, string expected)
    {
        var cvr = WithCheckDigit(sevenDigits);

        Assert.Equal(expected, cvr);
        Assert.True(Cvr.IsValid(cvr));
        Assert.True(Cvr.IsValid(TestMessages.Cvr));
        Assert.Null(Cvr.Check(cvr));
    }

    [Theory]
    [InlineData("12345675")] // wrong check digit
    [InlineData("12345673")] // wrong check digit
    [InlineData("1234567")]  // 7 digits
    [InlineData("123456740")] // 9 digits
    [InlineData("1234567A")]
    [InlineData("ABCDEFGH")]
    [InlineData(" 2345674")]
    [InlineData("")]
    [InlineData(null)]
    public void Cvr_is_invalid_unless_eight_digits_pass_modulus_11(string? value)
    {
        Assert.False(Cvr.IsValid(value));
        Assert.NotNull(Cvr.Check(value));
    }

    [Fact]
    public void A_valid_message_yields_no_errors() => Assert.Empty(Validate(TestMessages.Valid()));

    [Fact]
    public void A_missing_label_is_reported_as_header_label() =>
        AssertOnlyError(TestMessages.Valid().WithHeader(h => h with { Label = " " }), "header.label");

    [Fact]
    public void A_bad_sender_CVR_is_reported_as_header_sender_senderId() =>
        AssertOnlyError(TestMessages.Valid().WithHeader(h => h with { Sender = new Sender("12345675") }), "header.sender.senderId");

    [Fact]
    public void A_CPR_recipient_is_accepted_and_a_CPR_with_an_impossible_date_is_reported_as_header_recipient_recipientId()
    {
        Assert.Empty(Validate(TestMessages.Valid().WithHeader(h => h with { Recipient = new Recipient("0101901234", RecipientIdType.Cpr) })));
        AssertOnlyError(
            TestMessages.Valid().WithHeader(h => h with { Recipient = new Recipient("3002901234", RecipientIdType.Cpr) }),
            "header.recipient.recipientId");
    }

    [Fact]
    public void Physical_post_without_an_address_and_NemSMS_to_a_company_are_reported()
    {
        AssertOnlyError(TestMessages.Valid() with { Channel = DeliveryChannel.PhysicalPost }, "header.recipient.address");
        AssertOnlyError(TestMessages.Valid() with { Channel = DeliveryChannel.NemSms }, "channel");
    }

    [Fact]
    public void A_valoer_date_more_than_12_days_ahead_is_reported_as_header_doNotDeliverUntilDate_and_exactly_12_is_accepted()
    {
        var twelveDays = Now + TimeSpan.FromDays(12);

        AssertOnlyError(
            TestMessages.Valid().WithHeader(h => h with { DoNotDeliverUntilDate = twelveDays + TimeSpan.FromTicks(1) }),
            "header.doNotDeliverUntilDate");
        AssertOnlyError(
            TestMessages.Valid().WithHeader(h => h with { DoNotDeliverUntilDate = Now + TimeSpan.FromDays(13) }),
            "header.doNotDeliverUntilDate");
        Assert.Empty(Validate(TestMessages.Valid().WithHeader(h => h with { DoNotDeliverUntilDate = twelveDays })));
    }

    [Fact]
    public void A_message_over_99_5_MB_is_reported_as_body_and_exactly_99_5_MB_is_accepted()
    {
        Assert.Equal(99_500_000, MessageRules.MaxMessageBytes);

        var tooLarge = TestMessages.Valid().WithMainDocument(d => d with { Files = [TestMessages.Pdf("stor.pdf", MessageRules.MaxMessageBytes + 1)] });
        AssertOnlyError(tooLarge, "body");

        var atTheLimit = TestMessages.Valid().WithMainDocument(d => d with { Files = [TestMessages.Pdf("stor.pdf", MessageRules.MaxMessageBytes)] });
        Assert.Empty(Validate(atTheLimit));
    }

    [Fact]
    public void A_file_in_the_document_store_counts_by_its_length()
    {
        DocumentFile Stored(long bytes) => new("stor.pdf", "application/pdf", [], Length: bytes, Sha256: "00");

        AssertOnlyError(TestMessages.Valid().WithMainDocument(d => d with { Files = [Stored(MessageRules.MaxMessageBytes + 1)] }), "body");
        Assert.Empty(Validate(TestMessages.Valid().WithMainDocument(d => d with { Files = [Stored(MessageRules.MaxMessageBytes)] })));
    }

    [Fact]
    public void The_size_limit_counts_every_document_of_the_message()
    {
        var half = MessageRules.MaxMessageBytes / 2;
        var message = TestMessages.Valid() with
        {
            Body = new MessageBody(
                new Document("Brev", [TestMessages.Pdf("brev.pdf", half)]),
                AdditionalDocuments: [new Document("Bilag", [TestMessages.Pdf("bilag.pdf", half)])],
                TechnicalDocuments: [new Document("Data", [TestMessages.Pdf("data.xml", 1)])]),
        };

        AssertOnlyError(message, "body");
    }

    [Fact]
    public void An_action_without_entry_point_or_reservation_is_reported_at_its_index()
    {
        var message = TestMessages.Valid().WithMainDocument(d => d with { Actions = [new DocumentAction(ActionCode.Betaling, "Betal")] });

        AssertOnlyError(message, "body.mainDocument.actions[0]");
    }

    [Fact]
    public void An_action_ending_before_it_starts_is_reported_as_its_endDateTime()
    {
        var action = new DocumentAction(ActionCode.Aftale, "Book tid", new Uri("https://booking.example.dk"),
            StartDateTime: Now.AddDays(2), EndDateTime: Now.AddDays(1));
        var message = TestMessages.Valid().WithMainDocument(d => d with { Actions = [action] });

        AssertOnlyError(message, "body.mainDocument.actions[0].endDateTime");
    }

    [Fact]
    public void Actions_with_an_entry_point_or_a_reservation_and_ordered_times_are_accepted()
    {
        DocumentAction[] actions =
        [
            new(ActionCode.Selvbetjening, "Log ind", new Uri("https://selvbetjening.example.dk")),
            new(ActionCode.Aftale, "Møde", Reservation: "BOOKING-42", StartDateTime: Now.AddDays(1), EndDateTime: Now.AddDays(1)),
        ];

        Assert.Empty(Validate(TestMessages.Valid().WithMainDocument(d => d with { Actions = actions })));
    }

    [Fact]
    public void A_receiver_system_with_a_non_http_endpoint_is_rejected()
    {
        var registration = TestMessages.System("sag") with { Endpoint = new Uri("ftp://sag.example.dk/digitalpost") };

        var error = Assert.Single(OrganisationRules.ValidateReceiverSystem(registration, otherSystems: 0));
        Assert.Equal("endpoint", error.Field);
    }

    [Theory]
    [InlineData(ReceiverProtocol.PlatformJson, false)]
    [InlineData(ReceiverProtocol.RestPush, false)]
    [InlineData(ReceiverProtocol.RestPull, true)]
    public void A_receiver_system_needs_an_endpoint_unless_it_pulls_its_post(ReceiverProtocol protocol, bool accepted)
    {
        var registration = TestMessages.System("sag") with { Endpoint = null, Protocol = protocol };

        var errors = OrganisationRules.ValidateReceiverSystem(registration, otherSystems: 0);

        if (accepted) Assert.Empty(errors);
        else Assert.Equal("endpoint", Assert.Single(errors).Field);
    }

    [Theory]
    [InlineData("ikke-en-adresse", null, "technicalContact")]
    [InlineData("Drift <drift@sag.example.dk>", null, "technicalContact")]
    [InlineData("drift@sag.example.dk", "forretning@", "businessContact")]
    public void A_receiver_system_with_a_bad_e_mail_address_is_rejected(string technical, string? business, string field)
    {
        var registration = TestMessages.System("sag") with { TechnicalContact = technical, BusinessContact = business };

        var error = Assert.Single(OrganisationRules.ValidateReceiverSystem(registration, otherSystems: 0));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void A_sixth_receiver_system_is_rejected()
    {
        var error = Assert.Single(OrganisationRules.ValidateReceiverSystem(TestMessages.System("sjette"), otherSystems: 5));

        Assert.Equal("systemId", error.Field);
        Assert.Contains("5", error.Reason);
    }

    [Fact]
    public void A_well_formed_fifth_receiver_system_is_accepted() =>
        Assert.Empty(OrganisationRules.ValidateReceiverSystem(
            TestMessages.System("femte", primary: true, businessContact: "forretning@femte.example.dk"), otherSystems: 4));
}
