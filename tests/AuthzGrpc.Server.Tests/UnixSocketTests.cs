using System.Net.Sockets;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// <c>Authz:UnixSocketPath</c>: the server in its own process also listens on a Unix domain socket, and Check through
/// the generated client over that socket answers as over TCP, with the same key.
/// </summary>
public sealed class UnixSocketTests
{
    [Fact]
    public async Task UnixSocketPath_ServesCheckOverTheSocket_BesideTcp()
    {
        var folder = Directory.CreateTempSubdirectory("authz-socket-");
        try
        {
            var path = Path.Combine(folder.FullName, "authz.sock");
            await using var server = await ServerProcess.StartAsync($"--Authz:UnixSocketPath={path}");
            using var handler = new SocketsHttpHandler { ConnectCallback = (_, cancellationToken) => ConnectAsync(path, cancellationToken) };
            // The authority is not used to connect: every connection goes to the socket.
            using var channel = TestKeys.Channel(new Uri("http://localhost"), server.Key, handler);
            var overSocket = new AuthorizationService.AuthorizationServiceClient(channel);
            var deadline = DateTime.UtcNow.AddSeconds(30);

            var allowed = await overSocket.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"), deadline: deadline);
            var denied = await overSocket.CheckAsync(Check("user:alex", "deploy", "application:storefront-web"), deadline: deadline);
            var overTcp = await server.Authorization.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"), deadline: deadline);

            Assert.Equal(Decision.Allowed, allowed.Decision);
            Assert.Equal(Decision.Denied, denied.Decision);
            Assert.Equal(overTcp, allowed);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async ValueTask<Stream> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
