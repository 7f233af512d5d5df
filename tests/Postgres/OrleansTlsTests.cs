using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using DigitalPost.Contracts;
using DigitalPost.Silo;
using DigitalPost.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Runtime;

namespace DigitalPost.Tests.Postgres;

/// <summary>Two silo processes on PostgreSQL with <c>Orleans:Tls:*</c> set, each with its own certificate of the
/// cluster's CA, as the deploy files run them.</summary>
public sealed class TlsClusterFixture : IAsyncLifetime
{
    public PostgresServer Postgres { get; private set; } = null!;
    public TestCertificates Authority { get; } = TestCertificates.NewAuthority("digitalpost cluster CA");
    public ClusterOptions Cluster { get; } = new() { ClusterId = $"tls-{Guid.NewGuid():N}"[..16], ServiceId = "digitalpost" };
    public string ConnectionString { get; private set; } = "";
    public List<SiloProcess> Silos { get; } = [];
    public X509Certificate2 FirstSiloCertificate { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        ConnectionString = new NpgsqlConnectionStringBuilder(await Postgres.CreateDatabaseAsync()) { MaxPoolSize = 12 }.ConnectionString;
        for (var i = 0; i < 2; i++)
        {
            var certificate = Authority.IssueSilo($"silo{i}");
            if (i == 0) FirstSiloCertificate = certificate;
            Silos.Add(SiloProcess.Start(new Dictionary<string, string>
            {
                ["Storage:Provider"] = "PostgreSQL",
                ["Storage:ConnectionString"] = ConnectionString,
                ["Orleans:ClusterId"] = Cluster.ClusterId,
                ["Orleans:ServiceId"] = Cluster.ServiceId,
                ["Orleans:Tls:CertificateFile"] = Authority.WritePkcs12(certificate, $"silo{i}"),
                ["Orleans:Tls:CertificatePassword"] = TestCertificates.Password,
                ["Orleans:Tls:CaFile"] = Authority.CaFile,
                ["Smtp:PickupDirectory"] = Path.Combine(Path.GetTempPath(), $"digitalpost-mail-{Guid.NewGuid():N}"),
                ["Logging:LogLevel:Default"] = "Warning",
            }));
        }
        await Task.WhenAll(Silos.Select(s => s.WaitUntilHealthy(TimeSpan.FromSeconds(90))));
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in Silos) await silo.DisposeAsync();
        Authority.Dispose();
        await Postgres.DisposeAsync();
    }
}

public sealed class OrleansTlsTests(TlsClusterFixture cluster) : IClassFixture<TlsClusterFixture>
{
    [Fact]
    public async Task A_client_with_a_certificate_of_the_cluster_CA_connects_and_sees_both_silos_joined_over_TLS()
    {
        var certificate = cluster.Authority.IssueClient("another-service");
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orleans:Tls:CertificateFile"] = cluster.Authority.WritePkcs12(certificate, "another-service"),
            ["Orleans:Tls:CertificatePassword"] = TestCertificates.Password,
            ["Orleans:Tls:CaFile"] = cluster.Authority.CaFile,
        }).Build();
        using var client = await Connect(c => OrleansTls.Of(settings)!.Configure(c));
        var grains = client.Services.GetRequiredService<IClusterClient>();

        // The silos reached each other only through their TLS silo ports: both are active members.
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal(cluster.Silos.Select(s => s.SiloPort).Order(), hosts.Keys.Select(h => h.Endpoint.Port).Order());
        var cvr = PlatformFixture.NewCvr();
        await grains.GetGrain<IOrganisationGrain>(cvr).Register(new OrganisationRegistration("Tls A/S"));
        Assert.Equal("Tls A/S", (await grains.GetGrain<IOrganisationGrain>(cvr).GetView())?.Name);
    }

    [Fact]
    public async Task A_client_without_a_certificate_cannot_connect_to_the_gateway()
    {
        // It accepts any silo and presents nothing: the gateway refuses it.
        await AssertRefused(c => c.UseTls(o =>
        {
            o.AllowAnyRemoteCertificate();
            o.ClientCertificateMode = RemoteCertificateMode.AllowCertificate;
        }));
    }

    [Fact]
    public async Task The_silo_and_gateway_ports_speak_TLS_and_refuse_peers_with_another_CAs_certificate_or_without_TLS()
    {
        using var stranger = TestCertificates.NewAuthority("someone else's CA");
        foreach (var port in new[] { cluster.Silos[0].SiloPort, cluster.Silos[0].GatewayPort })
        {
            await using (var peer = await Handshake(port, cluster.Authority.IssueSilo("a-third-silo")))
                Assert.Equal(cluster.FirstSiloCertificate.Thumbprint, new X509Certificate2(peer.RemoteCertificate!).Thumbprint);

            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var refused = await Handshake(port, stranger.IssueSilo("a-false-silo"));
                // Under TLS 1.3 the server judges the client's certificate after the client finished its handshake, so
                // the refusal arrives as the connection is read.
                await ReadOrClosed(refused);
            });

            // Orleans' own plain greeting is not a TLS handshake: the port closes the connection without answering.
            using var plain = new TcpClient();
            await plain.ConnectAsync("127.0.0.1", port);
            var stream = plain.GetStream();
            await stream.WriteAsync(new byte[] { 0, 0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 });
            await Assert.ThrowsAnyAsync<IOException>(() => ReadOrClosed(stream));
        }
    }

    /// <summary>Reads a byte; a connection the other end closed is an <see cref="IOException"/> either way.</summary>
    private static async Task ReadOrClosed(Stream stream)
    {
        if (await stream.ReadAsync(new byte[1]) == 0) throw new IOException("closed by the silo");
    }

    private static async Task<SslStream> Handshake(int port, X509Certificate2 certificate)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "silo",
            ClientCertificates = [certificate],
            ApplicationProtocols = [new SslApplicationProtocol("Orleans1")],
        });
        return tls;
    }

    /// <summary>The client gives up on the gateways (after about three minutes of Orleans' own retries): its connection
    /// fails, it is never let in.</summary>
    private async Task AssertRefused(Action<IClientBuilder> configure) =>
        await Assert.ThrowsAsync<Orleans.Runtime.Messaging.ConnectionFailedException>(async () => { using var _ = await Connect(configure); });

    private async Task<IHost> Connect(Action<IClientBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", cluster.ConnectionString))
                .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.Cluster.ClusterId, cluster.Cluster.ServiceId));
            configure(client);
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
