using System.Net;
using System.Net.Sockets;

namespace AuthzGrpc.Testing;

/// <summary>Questions about ports on 127.0.0.1, where every process a test starts listens.</summary>
public static class Loopback
{
    /// <summary>Whether something accepts TCP connections on the port now.</summary>
    public static async Task<bool> ListensAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
