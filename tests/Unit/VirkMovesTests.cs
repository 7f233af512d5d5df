using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public sealed class VirkMovesTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly VirkMailItem Item = new(Guid.NewGuid(), Noon, "cp-b", "forwarded from the failing receiver system b; the primary a is deactivated");

    private static ReceiverSystemEntry System(string id, bool active, bool primary = false) =>
        new(new ReceiverSystemRegistration(id, new Uri($"http://127.0.0.1/{id}"), $"drift-{id}@example.dk", null, primary), active);

    private static readonly ContactPoint[] ContactPoints =
        [new("cp-a", "A", "a"), new("cp-b", "B", "b"), new("cp-hidden", "Skjult", "a", VisibleToAuthorities: false)];

    private static VirkMoveRequest Request(string? contactPoint = "cp-a", bool toOriginal = false, bool all = true, Guid[]? uuids = null, VirkMailboxFilter? filter = null) =>
        new(uuids, all, filter ?? VirkMailboxFilter.None, new VirkMoveTarget(contactPoint, toOriginal));

    private static IEnumerable<string> Fields(VirkMoveRequest request, params ReceiverSystemEntry[] systems) =>
        VirkMoves.Validate(request, ContactPoints, systems.Length > 0 ? systems : [System("a", true, primary: true), System("b", false)]).Select(e => e.Field);

    [Fact]
    public void A_filter_takes_letters_by_arrival_original_contact_point_and_reason()
    {
        Assert.True(VirkMoves.Takes(VirkMailboxFilter.None, Item));
        Assert.True(VirkMoves.Takes(new VirkMailboxFilter(From: Noon, To: Noon.AddTicks(1)), Item));
        Assert.False(VirkMoves.Takes(new VirkMailboxFilter(To: Noon), Item));
        Assert.False(VirkMoves.Takes(new VirkMailboxFilter(From: Noon.AddTicks(1)), Item));
        Assert.True(VirkMoves.Takes(new VirkMailboxFilter(OriginalContactPointId: "cp-b", ReasonContains: "DEACTIVATED"), Item));
        Assert.False(VirkMoves.Takes(new VirkMailboxFilter(OriginalContactPointId: "cp-a"), Item));
        Assert.False(VirkMoves.Takes(new VirkMailboxFilter(ReasonContains: "no receiver system"), Item));
    }

    [Fact]
    public void A_letter_goes_through_the_chosen_contact_point_or_its_original_one()
    {
        Assert.Equal("cp-a", VirkMoves.ContactPointOf(new VirkMoveTarget("cp-a", false), Item));
        Assert.Equal("cp-b", VirkMoves.ContactPointOf(new VirkMoveTarget(null, true), Item));
        Assert.Null(VirkMoves.ContactPointOf(new VirkMoveTarget(null, true), Item with { OriginalContactPointId = null }));
    }

    [Fact]
    public void A_move_names_its_letters_one_way_and_its_target_one_way()
    {
        Assert.Empty(Fields(Request()));
        Assert.Empty(Fields(Request(all: false, uuids: [Guid.NewGuid()])));
        Assert.Equal(["messageUuids"], Fields(Request(all: false)));
        Assert.Equal(["messageUuids"], Fields(Request(all: false, uuids: [])));
        Assert.Equal(["messageUuids"], Fields(Request(all: true, uuids: [Guid.NewGuid()])));
        Assert.Equal(["messageUuids"], Fields(Request(all: false, uuids: [.. Enumerable.Range(0, VirkMoves.MaxListed + 1).Select(_ => Guid.NewGuid())])));
        Assert.Equal(["contactPointId"], Fields(Request(contactPoint: null)));
        Assert.Equal(["contactPointId"], Fields(Request(contactPoint: "cp-a", toOriginal: true)));
        Assert.Equal(["filter.to"], Fields(Request(filter: new VirkMailboxFilter(From: Noon, To: Noon))));
    }

    [Fact]
    public void A_chosen_contact_point_must_exist_be_visible_to_authorities_and_lead_to_an_active_system()
    {
        Assert.Equal(["contactPointId"], Fields(Request("cp-x")));
        Assert.Equal(["contactPointId"], Fields(Request("cp-hidden")));
        var deactivated = Assert.Single(VirkMoves.Validate(Request("cp-b"), ContactPoints, [System("a", true, primary: true), System("b", false)]));
        Assert.Contains("deactivated", deactivated.Reason);
    }

    [Fact]
    public void Moving_to_the_original_contact_points_needs_some_active_receiver_system()
    {
        Assert.Empty(Fields(Request(contactPoint: null, toOriginal: true)));
        Assert.Equal(["toOriginalContactPoint"], Fields(Request(contactPoint: null, toOriginal: true), System("a", false, primary: true)));
        Assert.Equal(["toOriginalContactPoint"], VirkMoves.Validate(Request(contactPoint: null, toOriginal: true), ContactPoints, []).Select(e => e.Field));
    }
}
