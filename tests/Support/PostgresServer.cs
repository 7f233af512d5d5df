using System.Diagnostics;
using Npgsql;
using Microsoft.Extensions.Configuration;

namespace DigitalPost.Tests.Support;

/// <summary>A throwaway PostgreSQL cluster of the test run's own: initdb into a temp folder, a server on a free
/// loopback port with trust authentication, gone (process and files) on dispose. No shared server, no password,
/// nothing left behind for the next run.</summary>
public sealed class PostgresServer : IAsyncDisposable
{
    // initdb refuses to run as root, and the tests run as root in CI containers; this user owns the cluster there.
    private const string ServiceUser = "digitalpost-test";

    private readonly string _root;
    private readonly string _data;
    private readonly string? _runAs;
    private readonly string _bin;
    public int Port { get; }

    private PostgresServer(string root, string bin, string? runAs, int port)
    {
        _root = root;
        _data = Path.Combine(root, "data");
        _bin = bin;
        _runAs = runAs;
        Port = port;
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Pooling = false }.ConnectionString;

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinaries();
        var runAs = Environment.UserName == "root" ? EnsureServiceUser() : null;
        var root = Path.Combine(Path.GetTempPath(), "digitalpost-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        if (runAs is not null) Run("chown", [$"{runAs}:", root]);

        var server = new PostgresServer(root, bin, runAs, LoopbackPorts.Free());
        try
        {
            // --no-sync and fsync=off: a test cluster is discarded, so durability against power loss buys nothing.
            server.Pg("initdb", ["-D", server._data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"]);
            server.Pg("pg_ctl", ["start", "-w", "-t", "60", "-D", server._data, "-l", Path.Combine(root, "server.log"),
                "-o", $"-p {server.Port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"]);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new, empty database on this server; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= "dp_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>The platform's settings for a silo on the database: grain state and reminders in PostgreSQL.</summary>
    public static IReadOnlyDictionary<string, string?> PlatformSettings(string connectionString) => new Dictionary<string, string?>
    {
        ["Storage:Provider"] = "PostgreSQL",
        ["Storage:ConnectionString"] = connectionString,
    };

    public static IConfiguration PlatformConfiguration(string connectionString) =>
        new ConfigurationBuilder().AddInMemoryCollection(PlatformSettings(connectionString)).Build();

    /// <summary>The first column of every row a query returns, as text.</summary>
    public static async Task<List<string>> Strings(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync()) values.Add(reader.GetValue(0).ToString()!);
        return values;
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(_data, "postmaster.pid")))
                Pg("pg_ctl", ["stop", "-m", "immediate", "-w", "-D", _data]);
        }
        finally
        {
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return ValueTask.CompletedTask;
    }

    private void Pg(string tool, IReadOnlyList<string> args)
    {
        var exe = Path.Combine(_bin, tool);
        if (_runAs is null) Run(exe, args);
        else Run("runuser", ["-u", _runAs, "--", exe, .. args]);
    }

    private static string FindBinaries()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal).Select(d => Path.Combine(d, "bin"))
            : [];
        foreach (var dir in onPath.Concat(debian))
        {
            var initdb = Path.Combine(dir, "initdb");
            if (File.Exists(initdb) && File.Exists(Path.Combine(dir, "pg_ctl")))
                // Resolve symlinks (/usr/local/bin -> /usr/lib/postgresql/N/bin): pg_ctl finds postgres next to itself.
                return Path.GetDirectoryName(new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? initdb)!;
        }
        throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin. " +
            "Install them (Debian: apt-get install -y postgresql) to run the PostgreSQL tests; .ci/run does this.");
    }

    private static string EnsureServiceUser()
    {
        if (Run("id", ["-u", ServiceUser], throwOnFailure: false) != 0)
            Run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ServiceUser], throwOnFailure: false);
        // Parallel test processes may race to create the user; only its existence matters.
        Run("id", ["-u", ServiceUser]);
        return ServiceUser;
    }

    private static int Run(string file, IReadOnlyList<string> args, bool throwOnFailure = true)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 2 minutes.");
        }
        if (process.ExitCode != 0 && throwOnFailure)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return process.ExitCode;
    }
}
