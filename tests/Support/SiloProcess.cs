using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace DigitalPost.Tests.Support;

/// <summary>The silo as operators run it: its built dll in a process of its own, on loopback ports of its own. The
/// tests project references the silo, so the dll and its runtime files sit next to the test assembly.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private const int KeptLines = 200;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    public int HttpPort { get; }
    public int SiloPort { get; }
    public int GatewayPort { get; }
    public Uri Url => new($"http://127.0.0.1:{HttpPort}");

    private SiloProcess(Process process, int http, int silo, int gateway)
    {
        (_process, HttpPort, SiloPort, GatewayPort) = (process, http, silo, gateway);
    }

    /// <summary>Starts a silo with <paramref name="settings"/> as command-line switches (<c>--Key value</c>), from the
    /// folder of its dll unless another working directory is given.</summary>
    public static SiloProcess Start(IReadOnlyDictionary<string, string> settings, string? workingDirectory = null)
    {
        var (http, silo, gateway) = (LoopbackPorts.Free(), LoopbackPorts.Free(), LoopbackPorts.Free());
        // The SDK names the dotnet host that runs the tests; the silo runs on the same one.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            "exec", Path.Combine(AppContext.BaseDirectory, "DigitalPost.Silo.dll"),
            "--urls", $"http://127.0.0.1:{http}", "--Orleans:SiloPort", $"{silo}", "--Orleans:GatewayPort", $"{gateway}",
            .. settings.SelectMany(s => new[] { $"--{s.Key}", s.Value }),
        ];
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("The silo process did not start.");
        var started = new SiloProcess(process, http, silo, gateway);
        // Drained continuously: a full pipe would block the silo's logging. The tail explains a failed start.
        process.OutputDataReceived += (_, e) => started.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => started.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    public string Output => string.Join('\n', _output);

    private void Keep(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > KeptLines) _output.TryDequeue(out _);
    }

    /// <summary>Waits until the silo answers <c>/health</c> with 200: it is an active member of its cluster.</summary>
    public async Task WaitUntilHealthy(TimeSpan within)
    {
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The silo on port {HttpPort} exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var health = await http.GetAsync("/health");
                if (health.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The silo on port {HttpPort} was not healthy within {within}:\n{Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL on Linux: no shutdown, no deactivation, no goodbye to the cluster.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
