using System.Text.RegularExpressions;
using DigitalPost.Silo;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace DigitalPost.Tests.Unit;

/// <summary>The compose file and the Kubernetes manifests under deploy/, read as text: no container engine runs
/// them here, so these checks hold them to the settings the silo actually reads.</summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy");

    [Fact]
    public void The_compose_file_puts_three_silos_on_its_PostgreSQL_each_advertising_its_own_address()
    {
        var compose = File.ReadAllText(Path.Combine(Deploy, "compose.yaml"));
        Assert.DoesNotContain('\t', compose);

        var shared = Settings(Block(compose, "x-silo-env: &silo-env"));
        var storage = StorageSettings.Of(shared);
        Assert.True(storage.IsPostgres);
        Assert.Equal("postgres", new NpgsqlConnectionStringBuilder(storage.ConnectionString).Host);
        Assert.Contains("\n  postgres:\n", compose);
        var silos = Regex.Matches(compose, @"^  (silo\d):\n    <<: \*silo\n    environment:\n      <<: \*silo-env\n      Orleans__AdvertisedAddress: (\S+)$", RegexOptions.Multiline);
        Assert.Equal(3, silos.Count);
        Assert.All(silos, m => Assert.Equal(m.Groups[1].Value, m.Groups[2].Value));
    }

    [Fact]
    public void The_Kubernetes_silos_are_three_replicas_on_PostgreSQL_advertising_their_pod_IP_and_probed_on_health()
    {
        var silo = File.ReadAllText(Path.Combine(Deploy, "k8s", "silo.yaml"));
        Assert.DoesNotContain('\t', silo);

        Assert.Contains("replicas: 3", silo);
        Assert.Matches(@"- name: Storage__Provider\s+value: PostgreSQL", silo);
        Assert.Matches(@"- name: Storage__ConnectionString\s+valueFrom:\s+secretKeyRef:", silo);
        Assert.Matches(@"- name: Orleans__AdvertisedAddress\s+valueFrom:\s+fieldRef:\s+fieldPath: status\.podIP", silo);
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            Assert.Matches($@"{probe}:\s+httpGet:\s+path: /health\s+port: http", silo);
        Assert.Contains("kind: Service", silo);

        var kustomization = File.ReadAllText(Path.Combine(Deploy, "k8s", "kustomization.yaml"));
        Assert.All(Directory.GetFiles(Path.Combine(Deploy, "k8s"), "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml"),
            file => Assert.Contains($"  - {file}", kustomization));
    }

    [Fact]
    public void No_deployment_file_holds_an_API_key_and_each_gives_the_first_operator_from_a_secret()
    {
        var files = Directory.GetFiles(Deploy, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".sql", StringComparison.Ordinal)).ToList();
        // Every key setting names where the key comes from; none is written out.
        foreach (var file in files)
            foreach (Match key in KeySetting().Matches(File.ReadAllText(file)))
                Assert.True(key.Groups[2].Value is "" or "${OPERATOR_KEY:?set OPERATOR_KEY to the first operator's API key}",
                    $"{Path.GetFileName(file)} sets {key.Groups[1].Value} to '{key.Groups[2].Value}'");
        Assert.Contains("Operators__first__ApiKey: ${OPERATOR_KEY:?", File.ReadAllText(Path.Combine(Deploy, "compose.yaml")));
        Assert.Matches(@"- name: Operators__first__ApiKey\s+valueFrom:\s+secretKeyRef:\s+name: digitalpost-operator", File.ReadAllText(Path.Combine(Deploy, "k8s", "silo.yaml")));
        Assert.Contains("EnvironmentFile=-/etc/digitalpost/credentials.env", File.ReadAllText(Path.Combine(Deploy, "digitalpost-silo.service")));
    }

    /// <summary>An API key's setting and the value written after it on the same line (empty when it comes from elsewhere).</summary>
    [GeneratedRegex(@"((?:Operators|Senders)(?:__|:)[\w-]+(?:__|:)ApiKey)[:=]?[ \t]*(\S[^\n]*)?$", RegexOptions.Multiline)]
    private static partial Regex KeySetting();

    [Fact]
    public void The_containers_and_the_cluster_script_run_the_Orleans_ports_with_mutual_TLS_from_mounted_certificates()
    {
        var compose = File.ReadAllText(Path.Combine(Deploy, "compose.yaml"));
        var shared = Settings(Block(compose, "x-silo-env: &silo-env"));
        Assert.Equal(("/tls/silo.pfx", "/tls/ca.pem"), (shared["Orleans:Tls:CertificateFile"], shared["Orleans:Tls:CaFile"]));
        Assert.Contains("- ./tls:/tls:ro", compose);

        var silo = File.ReadAllText(Path.Combine(Deploy, "k8s", "silo.yaml"));
        foreach (var (key, file) in new[] { ("CertificateFile", "tls.crt"), ("CertificateKeyFile", "tls.key"), ("CaFile", "ca.crt") })
            Assert.Matches($@"- name: Orleans__Tls__{key}\s+value: /tls/{Regex.Escape(file)}", silo);
        Assert.Matches(@"volumeMounts:\s+- name: orleans-tls\s+mountPath: /tls", silo);
        Assert.Matches(@"secret:\s+secretName: digitalpost-orleans-tls", silo);

        var script = File.ReadAllText(Path.Combine(Deploy, "cluster.sh"));
        Assert.Contains("--Orleans:Tls:CertificateFile \"$tls/silo.pfx\"", script);
        Assert.Contains("--Orleans:Tls:CaFile \"$tls/ca.pem\"", script);
    }

    /// <summary>The indented lines under <paramref name="header"/>, up to the first blank line.</summary>
    private static IEnumerable<string> Block(string yaml, string header) =>
        yaml[(yaml.IndexOf(header, StringComparison.Ordinal) + header.Length)..].Split('\n').Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal));

    /// <summary>Environment entries (<c>Section__Key: value</c>) as the configuration the silo builds from them.</summary>
    private static IConfiguration Settings(IEnumerable<string> lines) =>
        new ConfigurationBuilder().AddInMemoryCollection(lines.Select(l => EnvironmentEntry().Match(l)).Where(m => m.Success)
            .Select(m => KeyValuePair.Create(m.Groups[1].Value.Replace("__", ":"), (string?)m.Groups[2].Value.Trim('"')))).Build();

    [GeneratedRegex(@"^\s+(\w+): (.+)$")]
    private static partial Regex EnvironmentEntry();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DigitalPost.slnx"))) return dir.FullName;
        throw new InvalidOperationException("The repository's root (DigitalPost.slnx) is not above the test assembly.");
    }
}
