using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace DigitalPost.LoadGen;

/// <summary>An Orleans client of a running silo through its gateway, as another service connects.</summary>
public static class Gateway
{
    /// <summary>A started host whose <see cref="IClusterClient"/> talks to the silo; dispose it to disconnect.</summary>
    public static async Task<IHost> Connect(IPEndPoint gateway, string serviceId, string clusterId, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(gateway);
            client.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (serviceId, clusterId));
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
