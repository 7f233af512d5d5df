using System.CommandLine;
using System.Net;
using System.Text.Json;
using DigitalPost.Contracts;
using DigitalPost.LoadGen.Batches;
using DigitalPost.LoadGen.Messages;
using DigitalPost.LoadGen.Organisations;
using DigitalPost.LoadGen.Notifications;
using DigitalPost.LoadGen.Receivers;
using DigitalPost.LoadGen.Registry;
using DigitalPost.LoadGen.WakeUps;
using Spectre.Console;

var platform = new Option<Uri>("--platform")
{
    Description = "The platform's base URL.",
    DefaultValueFactory = _ => new Uri("http://127.0.0.1:5000"),
    CustomParser = result => Uri.TryCreate(result.Tokens.Single().Value, UriKind.Absolute, out var uri) ? uri : null,
};
platform.Validators.Add(result =>
{
    if (result.GetValueOrDefault<Uri?>() is null) result.AddError("--platform must be an absolute URL, such as http://127.0.0.1:5000");
});
var listen = new Option<string>("--listen") { Description = "Where the simulated receiver systems listen.", DefaultValueFactory = _ => "http://127.0.0.1:5100" };
var systems = new Option<string[]>("--system")
{
    Description = "A receiver system and its profile, as name=profile or name=profile:share (profiles: " + string.Join(", ", Enum.GetNames<ReceiverProfile>())
        + "; the share, from 0 to 1, of attempts for Flaky and of messages for FailingMessages), and :memo or :json at the end for what a pushed system takes (default: --protocol), or :pull for a REST_PULL system that polls the platform. Repeatable.",
    AllowMultipleArgumentsPerToken = true,
};
var flakyShare = new Option<double>("--flaky-share") { Description = "The share of attempts a Flaky system fails (a new draw at every attempt).", DefaultValueFactory = _ => 0.2 };
var failingShare = new Option<double>("--failing-share") { Description = "The share of messages a FailingMessages system fails, always the same messages (chosen by message id).", DefaultValueFactory = _ => 0.2 };
var pushLog = new Option<string?>("--log") { Description = "Append every push to this file as JSON lines (system, messageUuid, attempt, answer, receipt)." };
var pullEvery = new Option<TimeSpan>("--pull-every") { Description = "How often a :pull system lists its waiting MeMos.", DefaultValueFactory = _ => TimeSpan.FromSeconds(1) };
var drain = new Option<TimeSpan>("--drain") { Description = "On stopping, how long to wait for the receipts still being posted.", DefaultValueFactory = _ => TimeSpan.FromSeconds(10) };
foreach (var share in new[] { flakyShare, failingShare })
    share.Validators.Add(result =>
    {
        if (result.GetValueOrDefault<double>() is < 0 or > 1) result.AddError($"{result.Option.Name} must be from 0 to 1");
    });

var receiversProtocol = new Option<PushFormat>("--protocol")
{
    Description = "What the simulated receiver systems take unless their --system says: Json (the platform's envelope, receipts at /api/receipts) or Memo (NgDP's REST_PUSH: MeMo XML, NgDP receipts at /apis/v1/memos/{id}/receipt).",
    DefaultValueFactory = _ => PushFormat.Json,
};
var receiverKeys = new Option<string[]>("--receiver-key")
{
    Description = "A receiver system's API key, as name=key, with which it posts its receipts (an operator issues it: POST /api/credentials). Repeatable.",
    AllowMultipleArgumentsPerToken = true,
};
var receivers = new Command("receivers", "Run simulated receiver systems on loopback until Ctrl+C or SIGTERM. Switch a profile while running with PUT {listen}/systems/{name}/profile/{profile}?share=; "
    + "GET {listen}/systems gives the counts per system. On stopping it waits for the receipts under way and prints the counts.")
{
    platform, listen, systems, receiversProtocol, receiverKeys, flakyShare, failingShare, pushLog, pullEvery, drain,
};
receivers.SetAction(async (parse, cancellationToken) =>
{
    var specs = new List<(string Name, ReceiverProfile Profile, double? Share, PushFormat? Format)>();
    var pulling = new List<string>();
    foreach (var (given, pull) in (parse.GetValue(systems) ?? []).Select(ReceiverRules.PullMode))
    {
        var (spec, format) = ReceiverRules.ParseFormat(given);
        if (ReceiverRules.ParseSystem(spec, out var error) is not { } parsed)
        {
            Console.Error.WriteLine(error);
            return 2;
        }
        specs.Add((parsed.Name, parsed.Profile, parsed.Share, format));
        if (pull) pulling.Add(parsed.Name);
    }
    await using var simulator = await ReceiverSimulator.Start(parse.GetValue(platform)!, parse.GetValue(listen)!, pushLog: parse.GetValue(pushLog));
    (simulator.FlakyShare, simulator.FailingShare, simulator.DefaultFormat) = (parse.GetValue(flakyShare), parse.GetValue(failingShare), parse.GetValue(receiversProtocol));
    foreach (var (name, profile, share, format) in specs)
    {
        simulator.SetProfile(name, profile, share);
        if (format is { } f) simulator.SetFormat(name, f);
        Console.WriteLine($"{name,-16} {profile,-16} {(share is { } s ? s.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : ""),-6} {simulator.FormatOf(name),-5} {(pulling.Contains(name) ? "pulls /apis/v1/memos/" : simulator.EndpointOf(name))}");
    }
    foreach (var spec in parse.GetValue(receiverKeys) ?? [])
    {
        if (spec.Split('=', 2) is not [var name, var key])
        {
            Console.Error.WriteLine($"--receiver-key '{spec}': expected name=key");
            return 2;
        }
        simulator.SetApiKey(name, key);
    }
    Console.WriteLine($"Receiver systems listen on {simulator.BaseUrl}systems/{{name}}; receipts go to {parse.GetValue(platform)}. Ctrl+C or SIGTERM stops.");
    // SIGTERM reaches the simulator's web host, which stops only itself: its stopping token ends the wait as Ctrl+C does.
    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, simulator.Stopping);
    var pulls = pulling.Select(name => simulator.KeepPulling(name, parse.GetValue(pullEvery), stop.Token)).ToList();
    try { await Task.Delay(Timeout.Infinite, stop.Token); }
    catch (OperationCanceledException) { }
    var drained = await simulator.DrainReceipts(parse.GetValue(drain));
    await Task.WhenAll(pulls);
    // Plain columns, whatever the terminal's width: for a person, and for grep and awk.
    Console.WriteLine($"{"system",-24} {"profile",-16} {"pushes",8} {"refused",8} {"messages",9} {"positive",9} {"negative",9} {"virus",6} {"no receipt",10}");
    foreach (var c in simulator.Counts)
        Console.WriteLine($"{c.System,-24} {c.Profile,-16} {c.Requests,8} {c.Refused,8} {c.Messages,9} {c.Positive,9} {c.Negative,9} {c.Virus,6} {c.NoReceipt,10}");
    Console.WriteLine(drained
        ? $"Stopped: every receipt answered by the platform ({simulator.ReceiptsGivenUp} given up before)."
        : $"Stopped: {simulator.ReceiptsInFlight} receipts the platform had not taken within {parse.GetValue(drain)} are given up.");
    return 0;
});

var apiKey = new Option<string>("--api-key")
{
    Description = "The sender system's API key (or the environment variable DIGITALPOST_API_KEY; default: the Demo environment's sender).",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DIGITALPOST_API_KEY") ?? "demo-key",
};
// Registering organisations and receiver systems, issuing the receivers' keys, loading the registry and reading
// /api/operations are an operator's.
var operatorKey = new Option<string>("--operator-key")
{
    Description = "An operator's API key (or the environment variable DIGITALPOST_OPERATOR_KEY; default: the Demo environment's operator).",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DIGITALPOST_OPERATOR_KEY") ?? "demo-operator-key",
};
var csvFile = new Option<FileInfo>("--csv") { Description = "The recipients and merge fields (CSV, ';' or ',', UTF-8 or Windows-1252).", Required = true };
var templateFile = new Option<FileInfo>("--template") { Description = "The letter template (Liquid).", Required = true };
var optionsFile = new Option<FileInfo?>("--options") { Description = "The batch options as a JSON file; the options below override it." };
var label = new Option<string?>("--label") { Description = "The letters' title." };
var channel = new Option<ChannelChoice?>("--channel") { Description = "Automatic, DigitalPost, PhysicalPost or NemSms." };
var batchId = new Option<string?>("--batch-id") { Description = "Your id of the batch: sending it again makes no second letter." };
var sendAt = new Option<DateTimeOffset?>("--send-at") { Description = "Deferred sending: nothing goes out before this time." };
var valoer = new Option<DateTimeOffset?>("--valoer") { Description = "Valør date: letters are not delivered before it (at most 12 days ahead)." };
var attachment = new Option<FileInfo[]>("--attachment") { Description = "A file attached to every letter. Repeatable.", AllowMultipleArgumentsPerToken = true };
var rowAttachment = new Option<FileInfo[]>("--row-attachment") { Description = "A file attached to the rows that name it in their attachment column. Repeatable.", AllowMultipleArgumentsPerToken = true };
var timeout = new Option<TimeSpan>("--timeout") { Description = "How long to follow the batch.", DefaultValueFactory = _ => TimeSpan.FromMinutes(10) };
var noFollow = new Option<bool>("--no-follow") { Description = "Upload and return without following the batch." };
csvFile.AcceptExistingOnly();
templateFile.AcceptExistingOnly();
((Option<FileInfo>)optionsFile!).AcceptExistingOnly();
attachment.AcceptExistingOnly();
rowAttachment.AcceptExistingOnly();

var send = new Command("send", "Upload a merge batch (CSV and template) to a running silo, follow it to the end, print a summary.")
{
    platform, apiKey, csvFile, templateFile, optionsFile, label, channel, batchId, sendAt, valoer, attachment, rowAttachment, timeout, noFollow,
};
send.SetAction(async (parse, cancellationToken) =>
{
    var options = parse.GetValue(optionsFile) is { } file
        ? JsonSerializer.Deserialize<BatchOptions>(await File.ReadAllTextAsync(file.FullName, cancellationToken), PlatformJson.Options)!
        : new BatchOptions(Label: "");
    options = options with
    {
        Label = parse.GetValue(label) ?? options.Label,
        Channel = parse.GetValue(channel) ?? options.Channel,
        BatchId = parse.GetValue(batchId) ?? options.BatchId,
        SendAt = parse.GetValue(sendAt) ?? options.SendAt,
        ValoerDate = parse.GetValue(valoer) ?? options.ValoerDate,
    };
    try
    {
        var summary = await Send.Run(new SendSettings(parse.GetValue(platform)!, parse.GetValue(apiKey)!, parse.GetValue(csvFile)!, parse.GetValue(templateFile)!,
            options, parse.GetValue(attachment) ?? [], parse.GetValue(rowAttachment) ?? [], parse.GetValue(timeout), !parse.GetValue(noFollow)), AnsiConsole.Console, cancellationToken);
        return summary.Final?.Phase == BatchPhase.Completed || parse.GetValue(noFollow) ? 0 : 1;
    }
    catch (PlatformException e)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
        return 2;
    }
});

var recipients = new Option<int>("--recipients") { Description = "Rows in the synthetic batch.", DefaultValueFactory = _ => 10_000 };
var organisations = new Option<int>("--organisations") { Description = "Organisations (each with one simulated receiver system) the rows are spread over.", DefaultValueFactory = _ => 50 };
var profile = new Option<ReceiverProfile>("--profile") { Description = "How the simulated receiver systems answer.", DefaultValueFactory = _ => ReceiverProfile.Healthy };
var benchListen = new Option<string>("--listen") { Description = "Where the simulated receiver systems listen.", DefaultValueFactory = _ => "http://127.0.0.1:5200" };
var pushSize = new Option<int>("--push-size") { Description = "Messages per push the simulated receiver systems take (registered as their maxMessagesPerPush).", DefaultValueFactory = _ => 500 };
var baseline = new Option<int>("--baseline") { Description = "Also run a batch of this many recipients delivered the straightforward way (a message grain per letter), in the same run. 0: none.", DefaultValueFactory = _ => 0 };
var postgres = new Option<string?>("--postgres") { Description = "The silo's PostgreSQL connection string: also measure the COPY floor of as many rows there." };
var mix = new Option<string>("--mix")
{
    Description = "Who the batch goes to, in percent: citizens (registered: their mailbox), exempt (physical post), nemsms (subscribers), organisations (receiver systems); or default, citizens, organisations.",
    DefaultValueFactory = _ => "default",
};
var notify = new Option<NotifyChoice>("--notify")
{
    Description = "The batch's registered citizens chose notifications of new post (Email, Sms, Both): measure them, with a counting SMTP server on --smtp-port and the simulated SMS provider on --sms-listen (start the silo with --Smtp:Host 127.0.0.1 --Smtp:Port <port> --Notifications:Sms:Endpoint <sms-listen>/sms).",
    DefaultValueFactory = _ => NotifyChoice.None,
};
var smtpPort = new Option<int>("--smtp-port") { Description = "Where the counting SMTP server listens, with --notify.", DefaultValueFactory = _ => 2525 };
var smsListen = new Option<string>("--sms-listen") { Description = "Where the simulated SMS provider listens, with --notify.", DefaultValueFactory = _ => "http://127.0.0.1:5400" };
var benchProtocol = new Option<PushFormat>("--protocol")
{
    Description = "What the simulated receiver systems take: Json (the platform's envelope) or Memo (registered as REST_PUSH: MeMo XML, merge letters laid out at push time).",
    DefaultValueFactory = _ => PushFormat.Json,
};
var receiptsTo = new Option<Uri[]>("--receipts-to")
{
    Description = "Silos' base URLs the simulated receiver systems post their receipts to, in turn, as a load balancer in front of a cluster would spread them (default: --platform).",
    AllowMultipleArgumentsPerToken = true,
    CustomParser = result =>
    {
        var urls = result.Tokens.Select(t => Uri.TryCreate(t.Value, UriKind.Absolute, out var uri) ? uri : null).ToArray();
        if (urls.Any(u => u is null)) result.AddError("--receipts-to takes absolute URLs, such as http://127.0.0.1:5000 http://127.0.0.1:5010");
        return [.. urls.OfType<Uri>()];
    },
};
var compareLanes = new Option<bool>("--compare-lanes") { Description = "Also run a batch to organisations only and one to citizens only, of the same size, in the same run." };
var bench = new Command("bench", "A synthetic batch of N recipients against simulated receiver systems; prints a JSON report.")
{
    platform, apiKey, operatorKey, recipients, organisations, profile, benchListen, timeout, pushSize, baseline, postgres, mix, compareLanes, notify, smtpPort, smsListen,
    receiptsTo, benchProtocol,
};
bench.SetAction(async (parse, cancellationToken) =>
{
    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    var report = await Bench.Run(new BenchSettings(parse.GetValue(platform)!, parse.GetValue(apiKey)!, parse.GetValue(recipients), parse.GetValue(organisations),
        parse.GetValue(benchListen)!, parse.GetValue(profile), parse.GetValue(timeout), parse.GetValue(pushSize), parse.GetValue(baseline), parse.GetValue(postgres),
        BenchMix.Parse(parse.GetValue(mix)!), parse.GetValue(compareLanes), parse.GetValue(operatorKey), parse.GetValue(notify), parse.GetValue(smtpPort), parse.GetValue(smsListen)!,
        parse.GetValue(receiptsTo), parse.GetValue(benchProtocol)), console, cancellationToken);
    Console.WriteLine(Bench.ToJson(report));
    return report.Batch.Counts.Accepted == parse.GetValue(recipients) ? 0 : 1;
});

var day = new Option<TimeSpan>("--day") { Description = "How long a day of the resend flow lasts on the silo (its ResendFlow settings; Demo: 10 s).", DefaultValueFactory = _ => TimeSpan.FromSeconds(10) };
var days = new Option<int>("--days") { Description = "Days to play.", DefaultValueFactory = _ => 9 };
var scenarioListen = new Option<string>("--listen") { Description = "Where the simulated receiver systems listen.", DefaultValueFactory = _ => "http://127.0.0.1:5300" };
var scenario = new Command("scenario", "A scripted outage of several receiver systems through the resend flow, in compressed time, under the current and the old deactivation rule.")
{
    platform, apiKey, operatorKey, scenarioListen, day, days,
};
scenario.SetAction((parse, cancellationToken) => Scenario.Run(
    new ScenarioSettings(parse.GetValue(platform)!, parse.GetValue(scenarioListen)!, parse.GetValue(day), parse.GetValue(days), parse.GetValue(apiKey), parse.GetValue(operatorKey)),
    AnsiConsole.Console, cancellationToken));

var letters = new Option<int>("--letters") { Description = "Letters to render.", DefaultValueFactory = _ => 2000 };
var threads = new Option<int>("--threads") { Description = "Threads rendering at once.", DefaultValueFactory = _ => Environment.ProcessorCount };
var renderTemplate = new Option<FileInfo?>("--template") { Description = "The letter template (default: the sample's)." };
var render = new Command("render", "Measure the cost of rendering letters to PDF (Liquid and layout), without a silo; prints a JSON report.")
{
    letters, threads, renderTemplate,
};
render.SetAction(async (parse, cancellationToken) =>
{
    var template = parse.GetValue(renderTemplate) is { } file
        ? await File.ReadAllTextAsync(file.FullName, cancellationToken)
        : await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "brev.liquid"), cancellationToken);
    var report = RenderBench.Run(parse.GetValue(letters), parse.GetValue(threads), template);
    Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions(PlatformJson.Options) { WriteIndented = true }));
    return 0;
});

var codecLetters = new Option<int>("--letters") { Description = "Letters to encode and decode each way.", DefaultValueFactory = _ => 2000 };
var codec = new Command("codec", "Measure a merge letter's cost on the wire, in process on one thread: encoded and decoded as the platform's JSON envelope and as a MeMo; prints a JSON report.")
{
    codecLetters,
};
codec.SetAction(async (parse, cancellationToken) =>
{
    var template = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "brev.liquid"), cancellationToken);
    var report = await CodecBench.Run(Math.Max(1, parse.GetValue(codecLetters)), template);
    Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions(PlatformJson.Options) { WriteIndented = true }));
    return 0;
});

var gateway = new Option<IPEndPoint>("--gateway")
{
    Description = "The silo's Orleans gateway (Orleans:GatewayPort).",
    DefaultValueFactory = _ => new IPEndPoint(IPAddress.Loopback, 30000),
    CustomParser = result => IPEndPoint.TryParse(result.Tokens.Single().Value, out var endpoint) ? endpoint : null,
};
var serviceId = new Option<string>("--service-id") { Description = "Orleans:ServiceId of the silo.", DefaultValueFactory = _ => "digitalpost" };
var clusterId = new Option<string>("--cluster-id") { Description = "Orleans:ClusterId of the silo.", DefaultValueFactory = _ => "digitalpost" };
var shards = new Option<int>("--shards") { Description = "Scheduler:Shards of the silo.", DefaultValueFactory = _ => 8 };
var waiting = new Option<int>("--waiting") { Description = "Wake-ups waiting (due in 30 days or later) during the measurement; those already pending count.", DefaultValueFactory = _ => 1_000_000 };
var dueCount = new Option<int>("--due") { Description = "Wake-ups that come due during the lateness measurement.", DefaultValueFactory = _ => 10_000 };
var concurrency = new Option<int>("--concurrency") { Description = "Schedule calls in flight at once.", DefaultValueFactory = _ => 1000 };
var settle = new Option<TimeSpan>("--settle") { Description = "Pause after scheduling, before the idle measurement.", DefaultValueFactory = _ => TimeSpan.FromSeconds(15) };
var idle = new Option<TimeSpan>("--idle") { Description = "How long the idle CPU is measured.", DefaultValueFactory = _ => TimeSpan.FromSeconds(60) };
var lead = new Option<TimeSpan>("--lead") { Description = "Time from scheduling the due set to its first due time.", DefaultValueFactory = _ => TimeSpan.FromSeconds(10) };
var window = new Option<TimeSpan>("--window") { Description = "The due set's due times spread over this long.", DefaultValueFactory = _ => TimeSpan.FromSeconds(60) };
var siloPid = new Option<int?>("--silo-pid") { Description = "The silo's process id, to read its CPU from /proc rather than /api/operations." };
var wakeups = new Command("wakeups", "The wake-up schedule at scale against a running silo: schedules N waiting wake-ups, measures the silo's idle CPU, then how late a set coming due fires; prints a JSON report.")
{
    platform, operatorKey, gateway, serviceId, clusterId, shards, waiting, dueCount, concurrency, settle, idle, lead, window, siloPid,
};
wakeups.SetAction(async (parse, cancellationToken) =>
{
    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    var report = await WakeUpBench.Run(new WakeUpBenchSettings(parse.GetValue(platform)!, parse.GetValue(gateway)!, parse.GetValue(serviceId)!,
        parse.GetValue(clusterId)!, parse.GetValue(shards), parse.GetValue(waiting), parse.GetValue(dueCount), parse.GetValue(concurrency),
        parse.GetValue(settle), parse.GetValue(idle), parse.GetValue(lead), parse.GetValue(window), parse.GetValue(siloPid), parse.GetValue(operatorKey)), console, cancellationToken);
    Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions(PlatformJson.Options) { WriteIndented = true }));
    return report.Lateness is null || report.Lateness.Fired >= report.Lateness.Scheduled ? 0 : 1;
});

var letterBytes = new Option<long>("--bytes") { Description = "The request's size in bytes: the message part, the file and the multipart framing.", DefaultValueFactory = _ => 99_500_000 };
var letterListen = new Option<string>("--listen") { Description = "Where the simulated receiver system listens.", DefaultValueFactory = _ => "http://127.0.0.1:5400" };
var letterPid = new Option<int?>("--silo-pid") { Description = "The silo's process id (a local process of this user): its peak memory is also read from /proc, where no peak between samples is missed." };
var bigLetter = new Command("bigletter", "One letter as large as Digital Post takes, sent as multipart to a healthy simulated receiver system and followed until delivered; prints the silo's memory rise as JSON.")
{
    platform, apiKey, operatorKey, letterListen, letterBytes, letterPid, timeout,
};
bigLetter.SetAction(async (parse, cancellationToken) =>
{
    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    var report = await BigLetter.Run(new BigLetterSettings(parse.GetValue(platform)!, parse.GetValue(letterListen)!, parse.GetValue(letterBytes),
        parse.GetValue(letterPid), parse.GetValue(timeout), parse.GetValue(apiKey), parse.GetValue(operatorKey)), console, cancellationToken);
    Console.WriteLine(BigLetter.ToJson(report));
    return report.Met ? 0 : 1;
});

var registryCitizens = new Option<int>("--citizens") { Description = "Synthetic citizens to load (the same ones on every run).", DefaultValueFactory = _ => 6_000_000 };
var registryCompanies = new Option<int>("--companies") { Description = "Synthetic companies to load, with P-numbers (at most 899,999).", DefaultValueFactory = _ => 0 };
var lookups = new Option<int>("--lookups") { Description = "Recipients looked up through the gateway after loading. 0: none.", DefaultValueFactory = _ => 20_000 };
var lookupBatch = new Option<int>("--lookup-batch") { Description = "Recipients per lookup call.", DefaultValueFactory = _ => 1_000 };
registryCompanies.Validators.Add(result =>
{
    if (result.GetValueOrDefault<int>() is < 0 or > 899_999) result.AddError("--companies must be from 0 to 899,999");
});
var registry = new Command("registry", "Load a synthetic national registry (citizens, companies) into a running silo as a streamed CSV upload, then time lookups; prints a JSON report.")
{
    platform, operatorKey, registryCitizens, registryCompanies, lookups, lookupBatch, gateway, serviceId, clusterId,
};
registry.SetAction(async (parse, cancellationToken) =>
{
    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    var report = await RegistryBench.Run(new RegistryBenchSettings(parse.GetValue(platform)!, parse.GetValue(registryCitizens), parse.GetValue(registryCompanies),
        parse.GetValue(gateway)!, parse.GetValue(serviceId)!, parse.GetValue(clusterId)!, parse.GetValue(lookups), Math.Max(1, parse.GetValue(lookupBatch)), parse.GetValue(operatorKey)),
        console, cancellationToken);
    Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions(PlatformJson.Options) { WriteIndented = true }));
    return report.Citizens?.IssueCount is null or 0 && report.Companies?.IssueCount is null or 0 ? 0 : 1;
});

var moveLetters = new Option<int>("--letters") { Description = "Letters to fill the Virk mailbox with, then move in one call.", DefaultValueFactory = _ => 100_000 };
var moveConcurrency = new Option<int>("--concurrency") { Description = "Messages sent at once while filling.", DefaultValueFactory = _ => 32 };
var moveListen = new Option<string>("--listen") { Description = "Where the simulated receiver system listens.", DefaultValueFactory = _ => "http://127.0.0.1:5500" };
var virkMove = new Command("virkmove", "Fill one organisation's Virk mailbox, give it a healthy simulated receiver system, move every letter there in one call and follow them until delivered; prints a JSON report.")
{
    platform, apiKey, moveListen, moveLetters, moveConcurrency, timeout,
};
virkMove.SetAction(async (parse, cancellationToken) =>
{
    var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    var report = await VirkMoveBench.Run(new VirkMoveSettings(parse.GetValue(platform)!, parse.GetValue(apiKey), parse.GetValue(moveListen)!,
        parse.GetValue(moveLetters), Math.Max(1, parse.GetValue(moveConcurrency)), parse.GetValue(timeout)), console, cancellationToken);
    Console.WriteLine(VirkMoveBench.ToJson(report));
    return report.LeftInMailbox == 0 && report.PushesReceived >= report.Letters ? 0 : 1;
});

var memoFiles = new Argument<FileInfo[]>("files") { Description = "MeMo files (.xml) and archives of them (.tar.lzma).", Arity = ArgumentArity.OneOrMore };
memoFiles.AcceptExistingOnly();
var systemId = new Option<string>("--system-id") { Description = "The sender system's id (or the environment variable DIGITALPOST_SYSTEM_ID).",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DIGITALPOST_SYSTEM_ID") ?? "" };
var apiToken = new Option<string>("--api-token") { Description = "The sender system's API token, its API key (or the environment variable DIGITALPOST_API_KEY).",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DIGITALPOST_API_KEY") ?? "" };
var pack = new Option<bool>("--pack") { Description = "Send the .xml files together as one tar.lzma, rather than one request each." };
var memoFollow = new Option<TimeSpan?>("--follow") { Description = "Wait this long for every receipt to be final (COMPLETED or an error)." };
var memo = new Command("memo", "Send MeMo files through the platform's NgDP face (POST /apis/v1/memos/, Basic authentication), one by one or as a tar.lzma, and print their receipts.")
{
    memoFiles, platform, systemId, apiToken, pack, memoFollow,
};
memo.SetAction(async (parse, cancellationToken) =>
{
    var summary = await MemoSend.Run(new MemoSettings(parse.GetValue(platform)!, parse.GetValue(systemId)!, parse.GetValue(apiToken)!,
        parse.GetValue(memoFiles)!, parse.GetValue(pack), parse.GetValue(memoFollow)), AnsiConsole.Console, cancellationToken);
    return summary.Refusals.Count == 0 && summary.Receipts.All(r => r.ErrorCode is null) ? 0 : 1;
});

var retentionPostgres = new Option<string>("--postgres") { Description = "The PostgreSQL database to fill and delete from (its schema is applied).", Required = true };
var retentionLetters = new Option<int>("--letters") { Description = "Letters past their retention period.", DefaultValueFactory = _ => 1_000_000 };
var retentionBatches = new Option<int>("--batches") { Description = "Batches they are spread over.", DefaultValueFactory = _ => 10 };
var retentionSingles = new Option<int>("--singles") { Description = "Messages sent one at a time past their retention period, each with a message grain's stored state.", DefaultValueFactory = _ => 0 };
var deleteSlice = new Option<int>("--delete-slice") { Description = "Rows one delete statement removes at most (Retention:DeleteSlice).", DefaultValueFactory = _ => 10_000 };
var retention = new Command("retention", "Fill PostgreSQL with a sender's letters past their retention period, then time the retention job deleting them; prints a JSON report.")
{
    retentionPostgres, retentionLetters, retentionBatches, retentionSingles, deleteSlice,
};
retention.SetAction(async (parse, cancellationToken) =>
{
    var report = await DigitalPost.LoadGen.Retention.RetentionBench.Run(new DigitalPost.LoadGen.Retention.RetentionBenchSettings(parse.GetValue(retentionPostgres)!,
        parse.GetValue(retentionLetters), Math.Max(1, parse.GetValue(retentionBatches)), Math.Max(1, parse.GetValue(deleteSlice)), Math.Max(0, parse.GetValue(retentionSingles))),
        AnsiConsole.Console, cancellationToken);
    Console.WriteLine(JsonSerializer.Serialize(report, PlatformJson.Options));
    return 0;
});

var root = new RootCommand("Digital Post load generator: merge batches, simulated receiver systems, scenarios and benchmarks.") { receivers, send, bench, scenario, render, codec, wakeups, bigLetter, registry, virkMove, memo, retention };
// Longer than any command takes to stop (receivers: --drain): on SIGTERM or Ctrl+C a command ends its own way and
// its exit code stands, rather than being cut off after the default 2 s.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(1) });
