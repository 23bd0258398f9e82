using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The server as <c>scripts/run.sh</c> starts it: its own process, default configuration (the default model and
/// relationships from <c>models/</c>), only the port changed — then Check through the generated client over loopback.
/// </summary>
public sealed class ServerProcessTests
{
    [Fact]
    public async Task ServerProcess_WithDefaultModel_AnswersAllowedAndDenied()
    {
        var port = FreeLoopbackPort();
        using var server = new ServerProcess(port);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new AuthorizationService.AuthorizationServiceClient(channel);
        await WaitUntilServing(client, server.Process);

        var allowed = await client.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"));
        var denied = await client.CheckAsync(Check("user:alex", "deploy", "application:storefront-web"));

        Assert.Equal(Decision.Allowed, allowed.Decision);
        Assert.Equal(Decision.Denied, denied.Decision);
        Assert.Equal("1", allowed.Revision);
    }

    private static async Task WaitUntilServing(AuthorizationService.AuthorizationServiceClient client, Process server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await client.CheckAsync(Check("user:olivia", "view", "project:storefront"), deadline: DateTime.UtcNow.AddSeconds(2));
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline && !server.HasExited)
            {
                await Task.Delay(200);
            }
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The server process; disposing it kills it, so no server outlives its test.</summary>
    private sealed class ServerProcess : IDisposable
    {
        public ServerProcess(int port)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                // The test output holds the server and a copy of models/, laid out as the repository root is.
                WorkingDirectory = AppContext.BaseDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AuthzGrpc.Server.dll"));
            start.ArgumentList.Add($"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{port}");
            Process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");

            // Drain both pipes so the server never blocks writing its log.
            Process.OutputDataReceived += (_, _) => { };
            Process.ErrorDataReceived += (_, _) => { };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }

            Process.Dispose();
        }
    }
}
