using DigitalPost.Contracts;
using DigitalPost.Domain;

namespace DigitalPost.Tests.Unit;

public class RouterTests
{
    /// <summary>An organisation with a primary system "main" and two others, "sag" and "hr"; contact points to each.</summary>
    private sealed class Organisation
    {
        private readonly Dictionary<string, ReceiverSystemEntry> _systems = new()
        {
            ["main"] = new(TestMessages.System("main", primary: true), Active: true),
            ["sag"] = new(TestMessages.System("sag"), Active: true),
            ["hr"] = new(TestMessages.System("hr"), Active: true),
        };

        private readonly Dictionary<string, ContactPoint> _contactPoints = new()
        {
            ["kp-main"] = new("kp-main", "Hovedpostkasse", "main"),
            ["kp-sag"] = new("kp-sag", "Byggesager", "sag"),
            ["kp-hr"] = new("kp-hr", "Personale", "hr"),
            ["kp-gone"] = new("kp-gone", "Nedlagt", "removed-system"),
        };

        public Organisation Deactivate(params string[] systemIds)
        {
            foreach (var id in systemIds) _systems[id] = _systems[id] with { Active = false };
            return this;
        }

        public Organisation WithoutSystems()
        {
            _systems.Clear();
            return this;
        }

        public RouteDecision Route(string? contactPointId, string? forwardFrom = null, ContentData? data = null, IReadOnlyList<RoutingRule>? rules = null) =>
            Router.Route(_systems, _contactPoints, new RouteRequest(contactPointId, forwardFrom, data), rules);
    }

    private static void AssertSystem(RouteDecision decision, string systemId)
    {
        Assert.Equal(DeliveryTargetKind.ReceiverSystem, decision.Target.Kind);
        Assert.Equal(systemId, decision.Target.ReceiverSystemId);
        Assert.Equal(new Uri($"https://{systemId}.example.dk/digitalpost"), decision.Target.Endpoint);
        Assert.Equal(systemId == "main", decision.Target.IsPrimary);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
    }

    private static void AssertVirk(RouteDecision decision)
    {
        Assert.Equal(DeliveryTargetKind.VirkMailbox, decision.Target.Kind);
        Assert.Null(decision.Target.ReceiverSystemId);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
    }

    [Theory]
    [InlineData("kp-sag", "sag")]
    [InlineData("kp-hr", "hr")]
    [InlineData("kp-main", "main")]
    public void A_contact_point_routes_to_its_own_receiver_system(string contactPoint, string system) =>
        AssertSystem(new Organisation().Route(contactPoint), system);

    [Fact]
    public void A_message_addressed_to_the_CVR_only_goes_to_the_primary() =>
        AssertSystem(new Organisation().Route(contactPointId: null), "main");

    [Theory]
    [InlineData("kp-unknown")]
    [InlineData("kp-gone")]
    public void An_unknown_contact_point_goes_to_the_primary_with_a_reason_naming_it(string contactPoint)
    {
        var decision = new Organisation().Route(contactPoint);

        AssertSystem(decision, "main");
        Assert.Contains(contactPoint, decision.Reason);
    }

    [Fact]
    public void A_deactivated_non_primary_system_has_its_mail_go_to_the_primary() =>
        AssertSystem(new Organisation().Deactivate("sag").Route("kp-sag"), "main");

    [Fact]
    public void A_deactivated_system_whose_primary_is_also_deactivated_has_its_mail_go_to_Virk() =>
        AssertVirk(new Organisation().Deactivate("sag", "main").Route("kp-sag"));

    [Theory]
    [InlineData(null)]
    [InlineData("kp-main")]
    public void A_deactivated_primary_has_its_mail_go_to_Virk(string? contactPoint) =>
        AssertVirk(new Organisation().Deactivate("main").Route(contactPoint));

    [Fact]
    public void Other_active_systems_keep_their_mail_while_one_is_deactivated() =>
        AssertSystem(new Organisation().Deactivate("sag").Route("kp-hr"), "hr");

    [Fact]
    public void A_message_forwarded_from_a_failing_non_primary_system_goes_to_the_primary() =>
        AssertSystem(new Organisation().Route("kp-sag", forwardFrom: "sag"), "main");

    [Theory]
    [InlineData(null)]
    [InlineData("kp-main")]
    public void A_message_forwarded_from_the_failing_primary_goes_to_Virk(string? contactPoint) =>
        AssertVirk(new Organisation().Route(contactPoint, forwardFrom: "main"));

    [Fact]
    public void A_message_forwarded_while_the_primary_is_deactivated_goes_to_Virk() =>
        AssertVirk(new Organisation().Deactivate("main").Route("kp-sag", forwardFrom: "sag"));

    [Theory]
    [InlineData(null)]
    [InlineData("kp-sag")]
    public void An_organisation_without_receiver_systems_gets_its_mail_in_Virk(string? contactPoint) =>
        AssertVirk(new Organisation().WithoutSystems().Route(contactPoint));

    private static readonly RoutingRule[] Rules = [new("kp-sag", CaseIdPrefix: "BYG-"), new("kp-hr", KleNumberPrefix: "81."), new("kp-gone", CaseIdPrefix: "OLD-")];

    [Fact]
    public void Tagged_data_routes_by_the_first_matching_rule_after_the_contact_point_and_before_the_primary()
    {
        var org = new Organisation();
        Assert.Equal("sag", org.Route(null, data: new ContentData(CaseId: "byg-2026-1"), rules: Rules).Target.ReceiverSystemId);
        Assert.Equal("hr", org.Route(null, data: new ContentData(KleNumber: "81.04.00"), rules: Rules).Target.ReceiverSystemId);
        Assert.Equal("sag", org.Route(null, data: new ContentData(CaseId: "BYG-1", KleNumber: "81.04.00"), rules: Rules).Target.ReceiverSystemId);
        Assert.Equal("hr", org.Route("kp-hr", data: new ContentData(CaseId: "BYG-1"), rules: Rules).Target.ReceiverSystemId);
        Assert.Equal("sag", org.Route("kp-unknown", data: new ContentData(CaseId: "BYG-1"), rules: Rules).Target.ReceiverSystemId);
        Assert.Equal("main", org.Route(null, data: new ContentData(CaseId: "SOC-1", KleNumber: "27.1"), rules: Rules).Target.ReceiverSystemId);
        // A rule whose contact point leads nowhere is passed over.
        Assert.Equal("main", org.Route(null, data: new ContentData(CaseId: "OLD-7"), rules: Rules).Target.ReceiverSystemId);
        Assert.Equal("main", org.Route(null, data: new ContentData(CaseId: "BYG-1")).Target.ReceiverSystemId);
    }

    [Fact]
    public void A_rule_to_a_deactivated_system_routes_like_its_contact_point_would_to_the_primary()
    {
        var decision = new Organisation().Deactivate("sag").Route(null, data: new ContentData(CaseId: "BYG-1"), rules: Rules);
        Assert.Equal("main", decision.Target.ReceiverSystemId);
        Assert.Contains("deactivated", decision.Reason);
    }
}
