using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.Testing;

/// <summary>
/// The server in its own process, as <c>scripts/run.sh</c> starts it — default configuration, working folder with a
/// <c>models/</c> folder, data in <c>.data/authz.db</c> under it — except for free loopback ports (gRPC and metrics)
/// and a temporary working folder. With no <c>Authz:Auth:BootstrapKey</c> the server generates its admin key into
/// <c>.data/bootstrap.key</c>; <see cref="Channel"/> sends that key (<see cref="Key"/>). Disposing it kills the process
/// and deletes the folder, so no server outlives its test.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _data;
    private readonly ConcurrentQueue<string> _output = new();

    private ServerProcess(Process process, DirectoryInfo workingFolder, Uri address)
    {
        _process = process;
        _data = workingFolder;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
    }

    /// <summary>The address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address { get; }

    /// <summary>An h2c channel to the server that sends <see cref="Key"/> on every call (no key until the server serves).</summary>
    public GrpcChannel Channel { get; private set; }

    /// <summary>The admin key the server generated into <c>.data/bootstrap.key</c>; null when it wrote none.</summary>
    public string? Key { get; private set; }

    /// <summary>The path of the generated key file, <c>.data/bootstrap.key</c> under the working folder.</summary>
    public string KeyFile => Path.Combine(WorkingFolder, ".data", "bootstrap.key");

    /// <summary>Everything the server printed so far (its log), stdout and stderr interleaved.</summary>
    public string Output => string.Join("\n", _output);

    /// <summary>The server's working folder.</summary>
    public string WorkingFolder => _data.FullName;

    /// <summary>
    /// Starts the server from the test output (which holds the server and a copy of <c>models/</c>) with the default
    /// configuration plus <paramref name="arguments"/>, and waits until it answers.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(params string[] arguments)
    {
        // A port found free can be taken by another test's process before this server binds it: try fresh ports then.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortsAsync(arguments);
            }
            catch (ServerDidNotStartException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }

    private static async Task<ServerProcess> StartOnFreePortsAsync(string[] arguments)
    {
        var port = FreeLoopbackPort();
        var data = Directory.CreateTempSubdirectory("authz-server-");

        // The default relative paths (models/default.zed, ...) find the test output's copy of models/ through a link.
        Directory.CreateSymbolicLink(Path.Combine(data.FullName, "models"), Path.Combine(AppContext.BaseDirectory, "models"));
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = data.FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AuthzGrpc.Server.dll"));
        start.ArgumentList.Add($"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{port}");
        // Metrics stay on, as by default, but on a free port too: other servers may hold the default 9464.
        start.ArgumentList.Add($"--Authz:MetricsUrl=http://127.0.0.1:{FreeLoopbackPort()}");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");

        // Drain both pipes so the server never blocks writing its log; keep it for tests that read it.
        var server = new ServerProcess(process, data, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, line) => server.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => server.Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilServingAsync();
            if (File.Exists(server.KeyFile))
            {
                server.Key = (await File.ReadAllTextAsync(server.KeyFile)).Trim();
                server.Channel.Dispose();
                server.Channel = TestKeys.Channel(server.Address, server.Key);
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Asks the server to stop as a service manager does: SIGTERM (on Windows, which has none, it kills it).</summary>
    public void Terminate()
    {
        if (OperatingSystem.IsWindows())
        {
            _process.Kill(entireProcessTree: true);
            return;
        }

        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException("could not run kill");
        kill.WaitForExit();
    }

    /// <summary>Waits at most <paramref name="timeout"/> for the process to exit; true when it did.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
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
                var tail = string.Join("\n", _output.TakeLast(30));
                throw new ServerDidNotStartException($"the server did not start (exited: {_process.HasExited}); its last output:\n{tail}");
            }

            await Task.Delay(200);
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    /// <summary>A client of authz.v1.AuthorizationService on this server.</summary>
    public AuthorizationService.AuthorizationServiceClient Authorization => new(Channel);
}

/// <summary>The server process exited, or did not answer in time; the message ends with its last output.</summary>
public sealed class ServerDidNotStartException(string message) : InvalidOperationException(message);
