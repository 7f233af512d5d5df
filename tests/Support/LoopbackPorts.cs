using System.Net;
using System.Net.Sockets;

namespace DigitalPost.Tests.Support;

/// <summary>Ports on loopback for the servers the tests start (silos, PostgreSQL). Handed out from below Linux's
/// ephemeral range (32768 to 60999), never twice in one test run: a port the system hands out as free is in that range,
/// and an outgoing connection (of the many the suite makes) could take it between the moment it was found free and the
/// moment a server binds it. Seen as a silo of the cluster test exiting at start with "address already in use".</summary>
public static class LoopbackPorts
{
    private const int First = 20_000;
    private const int Last = 32_000;
    private static int _next = First + Random.Shared.Next(0, (Last - First) / 2);

    /// <summary>A port nothing listens on now, not handed out before in this run.</summary>
    public static int Free()
    {
        while (true)
        {
            var port = Interlocked.Increment(ref _next);
            if (port > Last) throw new InvalidOperationException($"The tests ran out of loopback ports from {First} to {Last}.");
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) { }
        }
    }
}
