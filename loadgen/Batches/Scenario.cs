using DigitalPost.Contracts;
using DigitalPost.LoadGen.Receivers;
using Spectre.Console;

namespace DigitalPost.LoadGen.Batches;

public sealed record ScenarioSettings(Uri Platform, string Listen, TimeSpan Day, int Days, string? ApiKey = null, string? OperatorKey = null);

/// <summary><c>loadgen scenario</c>: a scripted outage played through the resend flow in compressed time, against a
/// silo whose day is <see cref="ScenarioSettings.Day"/> long (the Demo environment: 10 s). The same traffic goes to two
/// copies of the same organisation, one under the current deactivation rule and one under the rule before release 49,
/// and the timeline shows both.</summary>
public static class Scenario
{
    private static readonly (string System, ReceiverProfile Profile, string Story)[] Systems =
    [
        ("erp", ReceiverProfile.Healthy, "primary, healthy throughout"),
        ("archive", ReceiverProfile.Dead, "down for the whole run"),
        ("portal", ReceiverProfile.FailingMessages, "a share of its messages always fail, the others are delivered"),
        ("legacy", ReceiverProfile.NoReceipt, "sends no receipts until day 3, then recovers"),
    ];

    public static async Task<int> Run(ScenarioSettings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        using var platform = new PlatformClient(settings.Platform, settings.ApiKey, operatorKey: settings.OperatorKey);
        await using var receivers = await ReceiverSimulator.Start(settings.Platform, settings.Listen);
        var run = Guid.NewGuid().ToString("N")[..6];
        var cvrs = Bench.SyntheticCvrs(2, seed: run.GetHashCode());
        var organisations = new[] { (Cvr: cvrs[0], Policy: DeactivationPolicy.Current), (Cvr: cvrs[1], Policy: DeactivationPolicy.Pre49) };

        foreach (var (cvr, policy) in organisations)
        {
            await platform.RegisterOrganisation(cvr, new OrganisationRegistration($"Scenario {policy}", policy), cancellationToken);
            foreach (var (system, profile, _) in Systems)
            {
                var name = $"{run}-{policy}-{system}";
                receivers.SetProfile(name, profile);
                receivers.SetApiKey(name, await platform.RegisterReceiverSystem(cvr, system, receivers.EndpointOf(name), $"{system}@scenario.example", isPrimary: system == "erp", cancellationToken: cancellationToken));
                await platform.PutContactPoint(cvr, $"cp-{system}", system, cancellationToken);
            }
        }
        console.Write(new Rule($"Scenario {run}: one day = {settings.Day.TotalSeconds:0.#} s, {settings.Days} days"));
        foreach (var (system, profile, story) in Systems) console.MarkupLineInterpolated($"  [bold]{system,-8}[/] {profile,-10} {story}");

        var messages = new List<(Guid Uuid, string Cvr, DeactivationPolicy Policy, string System)>();
        var seen = new Dictionary<Guid, int>();
        var systemsActive = organisations.SelectMany(o => Systems.Select(s => (o.Cvr, o.Policy, s.System))).ToDictionary(x => x, _ => true);
        var start = DateTimeOffset.UtcNow;
        string Day(DateTimeOffset at) => $"day {(at - start) / settings.Day,4:0.0}";
        var recovered = false;
        var failedOnce = new HashSet<Guid>();
        var failedAttempts = 0;

        for (var day = 0; day <= settings.Days; day++)
        {
            var dayStarts = start + settings.Day * day;
            if (day == 3 && !recovered)
            {
                foreach (var (_, policy) in organisations) receivers.SetProfile($"{run}-{policy}-legacy", ReceiverProfile.Healthy);
                console.MarkupLineInterpolated($"[blue]{Day(DateTimeOffset.UtcNow)}  legacy recovers: it answers with receipts again[/]");
                recovered = true;
            }
            if (day < settings.Days)
                foreach (var (cvr, policy) in organisations)
                    foreach (var (system, _, _) in Systems)
                    {
                        var uuid = Guid.NewGuid();
                        await platform.SendMessage(uuid, cvr, $"cp-{system}", $"Scenario letter day {day}", cancellationToken);
                        messages.Add((uuid, cvr, policy, system));
                    }

            while (DateTimeOffset.UtcNow < dayStarts + settings.Day)
            {
                foreach (var m in messages)
                {
                    var status = await platform.GetMessage(m.Uuid, cancellationToken);
                    var from = seen.GetValueOrDefault(m.Uuid);
                    foreach (var e in status.History.Skip(from))
                    {
                        // Retries are counted, not listed: the timeline shows the first failure and the milestones.
                        var failure = e.Kind is MessageEventKind.PushFailed or MessageEventKind.ReceiptMissing or MessageEventKind.ReceiptNegative;
                        if (failure) failedAttempts++;
                        if (e.Kind is MessageEventKind.Accepted or MessageEventKind.Routed or MessageEventKind.Pushed or MessageEventKind.ReceiptPositive) continue;
                        if (failure && !failedOnce.Add(m.Uuid)) continue;
                        console.MarkupLineInterpolated($"{Day(e.At)}  [grey]{m.Policy,-7}[/] {m.System,-8} {m.Uuid.ToString()[..8]} [{Colour(e.Kind)}]{e.Kind}[/]: {e.Detail}");
                    }
                    seen[m.Uuid] = status.History.Count;
                }
                foreach (var key in systemsActive.Keys.ToList())
                {
                    var system = await platform.GetReceiverSystem(key.Cvr, key.System, cancellationToken);
                    if (system.Active == systemsActive[key]) continue;
                    systemsActive[key] = system.Active;
                    console.MarkupLineInterpolated($"{Day(DateTimeOffset.UtcNow)}  [grey]{key.Policy,-7}[/] {key.System,-8} [bold red]{(system.Active ? "reactivated" : "DEACTIVATED")}[/]");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
            console.MarkupLineInterpolated($"[grey]-- end of day {day}: {messages.Count} letters sent, {failedAttempts} failed attempts so far --[/]");
        }

        // Each letter is in exactly one of the outcome columns, so they add up to the letters; "forwarded" says how many
        // of them went elsewhere by day-7 forwarding or rerouting (a letter routed away from a deactivated system at once
        // was neither).
        var table = new Table().AddColumns("policy", "system", "letters", "delivered there", "delivered elsewhere", "to Virk", "stopped", "not final", "forwarded", "system");
        var addsUp = true;
        foreach (var (cvr, policy) in organisations)
            foreach (var (system, _, _) in Systems)
            {
                var mine = messages.Where(m => m.Cvr == cvr && m.System == system).ToList();
                var row = ScenarioRow.Of(system, await Task.WhenAll(mine.Select(m => platform.GetMessage(m.Uuid, cancellationToken))));
                addsUp &= row.AddsUp;
                table.AddRow(policy.ToString(), system, $"{row.Letters}", $"{row.DeliveredThere}", $"{row.DeliveredElsewhere}", $"{row.ToVirk}", $"{row.Stopped}",
                    $"{row.NotFinal}", $"{row.Forwarded}", systemsActive[(cvr, policy, system)] ? "active" : "deactivated");
            }
        console.Write(table);
        return addsUp ? 0 : 1;
    }

    private static string Colour(MessageEventKind kind) => kind switch
    {
        MessageEventKind.FirstWarningSent or MessageEventKind.SecondWarningSent => "yellow",
        MessageEventKind.Forwarded or MessageEventKind.Rerouted or MessageEventKind.DeliveredToVirk => "blue",
        MessageEventKind.StoppedForVirus => "red",
        _ => "grey",
    };
}

/// <summary>A row of the scenario's table: the letters sent to one system, each counted in exactly one outcome
/// (delivered there, delivered elsewhere, to the Virk mailbox, stopped, not final yet), and how many of them were
/// forwarded or rerouted on their way.</summary>
public sealed record ScenarioRow(int Letters, int DeliveredThere, int DeliveredElsewhere, int ToVirk, int Stopped, int NotFinal, int Forwarded)
{
    public bool AddsUp => DeliveredThere + DeliveredElsewhere + ToVirk + Stopped + NotFinal == Letters && Forwarded <= Letters;

    public static ScenarioRow Of(string system, IReadOnlyCollection<MessageStatusView> letters) => new(
        letters.Count,
        letters.Count(l => l.Status == MessageStatus.Delivered && l.CurrentTarget?.ReceiverSystemId == system),
        // Delivered anywhere else: forwarded on day 7, rerouted, or routed to the primary because the system was deactivated.
        letters.Count(l => l.IsFinal && l.Status != MessageStatus.DeliveredToVirk && l.Status != MessageStatus.Stopped
            && !(l.Status == MessageStatus.Delivered && l.CurrentTarget?.ReceiverSystemId == system)),
        letters.Count(l => l.Status == MessageStatus.DeliveredToVirk),
        letters.Count(l => l.Status == MessageStatus.Stopped),
        letters.Count(l => !l.IsFinal),
        letters.Count(l => l.History.Any(e => e.Kind is MessageEventKind.Forwarded or MessageEventKind.Rerouted)));
}
