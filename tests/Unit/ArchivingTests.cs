using DigitalPost.Contracts;
using DigitalPost.Domain.MassSending;

namespace DigitalPost.Tests.Unit;

/// <summary>A recipient's case read from two places: the archive's letters (through message grains) and the bulk
/// lane's deliveries (their own letter rows).</summary>
public sealed class ArchivingTests
{
    private static readonly DateTimeOffset Day0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly Guid Batch = Guid.NewGuid();

    private static ArchivedLetter ViaMessage(int row, DateTimeOffset at) =>
        new(Guid.NewGuid(), Batch, row, 0, "Brev", LetterState.Delivered, at, [new DeliveryAttempt(1, "a", at, AttemptOutcome.Positive, at)]);

    private static (RecipientKind, ArchivedLetter) InBulk(int row, DateTimeOffset at) =>
        (RecipientKind.Cvr, Archiving.BulkDelivered(Guid.NewGuid(), Batch, row, 0, "Brev", LetterLane.ReceiverSystem, LetterState.Delivered, "12345674/erp", at.AddMinutes(-1), at));

    [Fact]
    public void A_case_has_the_letters_of_both_oldest_first_and_was_created_with_its_first()
    {
        var archived = new ArchiveCase(RecipientKind.Cvr, Day0.AddDays(1), [ViaMessage(1, Day0.AddDays(1)), ViaMessage(3, Day0.AddDays(3))]);

        var merged = Archiving.Case(archived, [InBulk(2, Day0.AddDays(2)), InBulk(0, Day0)])!;

        Assert.Equal([0, 1, 2, 3], merged.Letters.Select(l => l.Row));
        Assert.Equal(Day0, merged.CreatedAt);
        Assert.Equal(RecipientKind.Cvr, merged.Kind);
    }

    [Fact]
    public void A_case_only_in_the_bulk_lane_or_only_in_the_archive_is_that_one_and_none_is_no_case()
    {
        var onlyBulk = Archiving.Case(null, [InBulk(1, Day0)])!;
        Assert.Equal((Day0, 1), (onlyBulk.CreatedAt, onlyBulk.Letters.Count));
        var archived = new ArchiveCase(RecipientKind.Cpr, Day0, [ViaMessage(1, Day0)]);
        Assert.Same(archived, Archiving.Case(archived, []));
        Assert.Null(Archiving.Case(null, []));
    }

    [Fact]
    public void A_copy_is_labelled_as_a_copy_and_a_bulk_delivery_carries_its_push_and_positive_receipt()
    {
        Assert.Equal(("Brev", "Kopi: Brev"), (Archiving.Label("Brev", 0), Archiving.Label("Brev", 2)));
        var letter = Archiving.BulkDelivered(Guid.NewGuid(), Batch, 4, 1, "Brev", LetterLane.ReceiverSystem, LetterState.Delivered, "12345674/erp", Day0, Day0.AddSeconds(3));
        Assert.Equal(("Kopi: Brev", LetterState.Delivered, Day0.AddSeconds(3)), (letter.Label, letter.State, letter.ArchivedAt));
        Assert.Equal(new DeliveryAttempt(1, "erp", Day0, AttemptOutcome.Positive, Day0.AddSeconds(3)), Assert.Single(letter.Receipts));
    }

    [Theory]
    [InlineData(LetterLane.CitizenMailbox, LetterState.Delivered)]
    [InlineData(LetterLane.NemSms, LetterState.SentAsNemSms)]
    public void A_letter_a_citizens_lane_delivered_is_archived_in_its_final_state_without_a_receiver_systems_attempt(LetterLane lane, LetterState state)
    {
        var letter = Archiving.BulkDelivered(Guid.NewGuid(), Batch, 4, 0, "Brev", lane, state, null, Day0, Day0);

        Assert.Equal((state, Day0), (letter.State, letter.ArchivedAt));
        Assert.Empty(letter.Receipts);
    }
}
