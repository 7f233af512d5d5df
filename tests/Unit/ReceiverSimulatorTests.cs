using DigitalPost.Contracts;
using DigitalPost.LoadGen.Batches;
using DigitalPost.LoadGen.Receivers;

namespace DigitalPost.Tests.Unit;

/// <summary>The simulated receiver systems of <c>loadgen receivers</c>: which messages fail and what they count; and the
/// scenario's table.</summary>
public class ReceiverSimulatorTests
{
    [Fact]
    public void Failing_by_share_of_messages_picks_the_same_messages_every_time_and_about_that_share_of_them()
    {
        var messages = Enumerable.Range(0, 20_000).Select(_ => Guid.NewGuid()).ToList();

        var failing = messages.Where(m => ReceiverRules.FailsByShare(m, 0.2)).ToHashSet();

        Assert.Equal(failing, messages.Where(m => ReceiverRules.FailsByShare(m, 0.2)).ToHashSet());
        Assert.InRange(failing.Count / 20_000.0, 0.18, 0.22);
        // A larger share fails the same messages and more; none and all are exact.
        Assert.Superset(failing, messages.Where(m => ReceiverRules.FailsByShare(m, 0.5)).ToHashSet());
        Assert.DoesNotContain(messages, m => ReceiverRules.FailsByShare(m, 0));
        Assert.All(messages, m => Assert.True(ReceiverRules.FailsByShare(m, 1)));
        // The choice is the message id's alone: a fixed id fails in every run.
        Assert.Equal(ReceiverRules.FailsByShare(Guid.Parse("6f1c2b7e-3d4a-4e8b-9a51-0c2d3e4f5a6b"), 0.5),
            ReceiverRules.FailsByShare(Guid.Parse("6f1c2b7e-3d4a-4e8b-9a51-0c2d3e4f5a6b"), 0.5));
    }

    [Fact]
    public void A_failing_message_gets_a_negative_receipt_at_every_attempt_while_a_flaky_system_draws_anew()
    {
        var failing = Enumerable.Range(0, 1000).Select(_ => Guid.NewGuid()).First(m => ReceiverRules.FailsByShare(m, 0.3));
        var passing = Enumerable.Range(0, 1000).Select(_ => Guid.NewGuid()).First(m => !ReceiverRules.FailsByShare(m, 0.3));

        Assert.All(new[] { 0.0, 0.5, 0.99 }, draw =>
        {
            Assert.Equal(ReceiptKind.Negative, ReceiverRules.Receipt(ReceiverProfile.FailingMessages, 0.3, failing, poisoned: false, draw));
            Assert.Equal(ReceiptKind.Positive, ReceiverRules.Receipt(ReceiverProfile.FailingMessages, 0.3, passing, poisoned: false, draw));
        });
        Assert.Equal(ReceiptKind.Negative, ReceiverRules.Receipt(ReceiverProfile.Flaky, 0.3, passing, poisoned: false, draw: 0.1));
        Assert.Equal(ReceiptKind.Positive, ReceiverRules.Receipt(ReceiverProfile.Flaky, 0.3, passing, poisoned: false, draw: 0.9));
        Assert.Equal(ReceiptKind.Negative, ReceiverRules.Receipt(ReceiverProfile.Healthy, 0.3, passing, poisoned: true, draw: 0.9));
    }

    [Theory]
    [InlineData("erp=Healthy", "erp", ReceiverProfile.Healthy, null)]
    [InlineData("portal=failingmessages:0.35", "portal", ReceiverProfile.FailingMessages, 0.35)]
    [InlineData("web=Flaky:1", "web", ReceiverProfile.Flaky, 1.0)]
    public void A_system_is_given_as_name_profile_and_a_share(string spec, string name, ReceiverProfile profile, double? share)
    {
        Assert.Equal((name, profile, share), ReceiverRules.ParseSystem(spec, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("erp=Healthy:memo", "erp=Healthy", PushFormat.Memo)]
    [InlineData("erp=Flaky:0.3:MEMO", "erp=Flaky:0.3", PushFormat.Memo)]
    [InlineData("erp=Healthy:json", "erp=Healthy", PushFormat.Json)]
    [InlineData("erp=Flaky:0.3", "erp=Flaky:0.3", null)]
    [InlineData("erp=Flaky:1", "erp=Flaky:1", null)]
    [InlineData("memo=Healthy", "memo=Healthy", null)]
    public void A_system_may_end_in_the_format_it_takes(string given, string rest, PushFormat? format) =>
        Assert.Equal((rest, format), ReceiverRules.ParseFormat(given));

    [Theory]
    [InlineData(ReceiptKind.Positive, "COMPLETED", null)]
    [InlineData(ReceiptKind.Negative, "INVALID", "INVALID_MESSAGE")]
    [InlineData(ReceiptKind.Virus, "NOT_ALLOWED", "VIRUS")]
    public void A_MeMo_system_answers_with_NgDP_receipts(ReceiptKind kind, string status, string? errorCode)
    {
        var uuid = Guid.NewGuid();
        Assert.Equal((uuid, status, errorCode), ReceiverRules.ToMemoReceipt(kind, uuid) is { } r ? (r.MessageUUID, r.ReceiptStatus, r.ErrorCode) : default);
        Assert.Null(ReceiverRules.ToMemoReceipt(ReceiptKind.None, uuid));
    }

    [Theory]
    [InlineData("erp")]
    [InlineData("=Healthy")]
    [InlineData("erp=Sometimes")]
    [InlineData("erp=3")]
    [InlineData("erp=Healthy:0.2")]
    [InlineData("erp=FailingMessages:1.5")]
    [InlineData("erp=FailingMessages:lots")]
    public void A_malformed_system_is_refused_with_the_reason(string spec)
    {
        Assert.Null(ReceiverRules.ParseSystem(spec, out var error));
        Assert.Contains($"'{spec}'", error);
    }

    [Theory]
    [InlineData("erp=Healthy:pull", "erp=Healthy", true)]
    [InlineData("portal=Flaky:0.3:PULL", "portal=Flaky:0.3", true)]
    [InlineData("web=Healthy", "web=Healthy", false)]
    [InlineData("pull=Healthy", "pull=Healthy", false)]
    public void A_system_ending_in_pull_polls_the_platform_and_the_rest_is_its_profile(string given, string spec, bool pull)
    {
        Assert.Equal((spec, pull), ReceiverRules.PullMode(given));
        Assert.NotNull(ReceiverRules.ParseSystem(ReceiverRules.PullMode(given).Spec, out _));
    }

    [Fact]
    public void A_systems_counts_add_up_refused_pushes_apart_and_each_message_with_one_receipt()
    {
        var counter = new SystemCounter();
        counter.Refused();
        counter.Accepted([ReceiptKind.Positive, ReceiptKind.Negative, ReceiptKind.None]);
        counter.Accepted([ReceiptKind.Virus]);

        var counts = counter.Snapshot("archive", ReceiverProfile.FailingMessages);

        Assert.Equal(new SystemCounts("archive", ReceiverProfile.FailingMessages, 3, 1, 4, 1, 1, 1, 1), counts);
        Assert.True(counts.AddsUp);
        Assert.False((counts with { Positive = 2 }).AddsUp);
        Assert.False((counts with { Messages = 1, Positive = 0, Negative = 0, Virus = 0 }).AddsUp);
    }

    [Fact]
    public void A_scenario_row_counts_each_letter_in_one_outcome_so_the_columns_add_up_under_either_rule()
    {
        // Under the pre-49 rule the system was deactivated at once: eight letters were routed to the primary from the
        // start (no forwarding), one was forwarded on day 7. The old table read 9 letters, 0 delivered, 1 forwarded.
        MessageStatusView Letter(MessageStatus status, string? at, params MessageEventKind[] events) => new(Guid.NewGuid(), status, "12345674", null,
            at is null ? DeliveryTarget.Virk : new DeliveryTarget(DeliveryTargetKind.ReceiverSystem, at), DateTimeOffset.UnixEpoch, null, null, [],
            [.. events.Select(e => new MessageEvent(DateTimeOffset.UnixEpoch, e, ""))], null, null);
        var pre49 = Enumerable.Range(0, 8).Select(_ => Letter(MessageStatus.Delivered, "erp", MessageEventKind.Routed))
            .Append(Letter(MessageStatus.Delivered, "erp", MessageEventKind.Forwarded)).ToList();
        var current = new[]
        {
            Letter(MessageStatus.Delivered, "portal"), Letter(MessageStatus.Delivered, "portal"), Letter(MessageStatus.Failing, "portal"),
            Letter(MessageStatus.Delivered, "erp", MessageEventKind.Forwarded), Letter(MessageStatus.DeliveredToVirk, null, MessageEventKind.Forwarded),
            Letter(MessageStatus.Stopped, "portal"), Letter(MessageStatus.AwaitingReceipt, "portal"),
        };

        var old = ScenarioRow.Of("portal", pre49);
        var now = ScenarioRow.Of("portal", current);

        Assert.Equal(new ScenarioRow(9, 0, 9, 0, 0, 0, 1), old);
        Assert.Equal(new ScenarioRow(7, 2, 1, 1, 1, 2, 2), now);
        Assert.True(old.AddsUp && now.AddsUp);
        Assert.False((now with { DeliveredThere = 3 }).AddsUp);
    }

    [Fact]
    public void The_bench_tells_a_resend_by_its_message_grain_from_a_repeat_of_the_same_attempt_per_receiver_system()
    {
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var at = DateTimeOffset.UnixEpoch;
        var pushes = new List<ReceivedPush>
        {
            new("erp-1", a, 1, at), new("erp-1", a, 1, at), new("erp-1", a, 1, at),
            new("erp-1", b, 1, at), new("erp-1", b, 2, at),
            new("erp-2", c, 1, at),
        };

        var report = PushRepeats.Of(pushes);

        Assert.Equal((6, 3, 1, 2), (report.Pushed, report.Messages, report.Resends, report.Repeats));
        Assert.Equal(new Dictionary<string, int> { ["erp-1"] = 2 }, report.RepeatsBySystem);
    }
}
