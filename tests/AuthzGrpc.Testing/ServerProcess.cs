using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.Testing;

/// <summary>
/// The server in its own process, as <c>scripts/run.sh</c> starts it, on a free loopback port, with its data in a
/// temporary folder. Disposing it kills the process and deletes the folder, so no server outlives its test.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _data;

    private ServerProcess(Process process, DirectoryInfo data, Uri address)
    {
        _process = process;
        _data = data;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
    }

    /// <summary>The address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address { get; }

    /// <summary>An h2c channel to the server.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>
    /// Starts the server from the test output (which holds the server and a copy of <c>models/</c>, laid out as the
    /// repository root is) with the default configuration plus <paramref name="arguments"/>, and waits until it answers.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(params string[] arguments)
    {
        var port = FreeLoopbackPort();
        var data = Directory.CreateTempSubdirectory("authz-server-");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AuthzGrpc.Server.dll"));
        start.ArgumentList.Add($"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{port}");
        start.ArgumentList.Add($"--Authz:Storage:ConnectionString=Data Source={Path.Combine(data.FullName, "authz.db")}");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");

        // Drain both pipes so the server never blocks writing its log.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, data, new Uri($"http://127.0.0.1:{port}"));
        try
        {
            await server.WaitUntilServingAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        _data.Delete(recursive: true);
    }

    private async Task WaitUntilServingAsync()
    {
        var health = new Grpc.Health.V1.Health.HealthClient(Channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var reply = await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (reply.Status == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                // Not listening yet.
            }

            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"the server did not start (exited: {_process.HasExited})");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>A client of authz.v1.AuthorizationService on this server.</summary>
    public AuthorizationService.AuthorizationServiceClient Authorization => new(Channel);
}
