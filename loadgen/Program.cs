using System.CommandLine;
using DigitalPost.LoadGen.Receivers;

var platform = new Option<Uri>("--platform") { Description = "The platform's base URL, where receipts are posted.", DefaultValueFactory = _ => new Uri("http://127.0.0.1:5000") };
var listen = new Option<string>("--listen") { Description = "Where the simulated receiver systems listen.", DefaultValueFactory = _ => "http://127.0.0.1:5100" };
var systems = new Option<string[]>("--system")
{
    Description = "A receiver system and its profile, as name=profile (profiles: " + string.Join(", ", Enum.GetNames<ReceiverProfile>()) + "). Repeatable.",
    AllowMultipleArgumentsPerToken = true,
};

var receivers = new Command("receivers", "Run simulated receiver systems on loopback until Ctrl+C. Switch a profile while running with PUT {listen}/systems/{name}/profile/{profile}.")
{
    platform, listen, systems,
};
receivers.SetAction(async (parse, cancellationToken) =>
{
    await using var simulator = await ReceiverSimulator.Start(parse.GetValue(platform)!, parse.GetValue(listen)!);
    foreach (var spec in parse.GetValue(systems) ?? [])
    {
        var parts = spec.Split('=', 2);
        if (parts.Length != 2 || !Enum.TryParse<ReceiverProfile>(parts[1], ignoreCase: true, out var profile))
        {
            Console.Error.WriteLine($"--system '{spec}': expected name=profile with a profile among {string.Join(", ", Enum.GetNames<ReceiverProfile>())}");
            return 2;
        }
        simulator.SetProfile(parts[0], profile);
        Console.WriteLine($"{parts[0],-16} {profile,-10} {simulator.EndpointOf(parts[0])}");
    }
    Console.WriteLine($"Receiver systems listen on {simulator.BaseUrl}systems/{{name}}; receipts go to {parse.GetValue(platform)}. Ctrl+C stops.");
    try { await Task.Delay(Timeout.Infinite, cancellationToken); }
    catch (OperationCanceledException) { }
    Console.WriteLine($"{simulator.Pushes.Count} pushes received.");
    return 0;
});

var root = new RootCommand("Digital Post load generator: simulated receiver systems (and, later, merge batches and benchmarks).") { receivers };
return await root.Parse(args).InvokeAsync();
