using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration.Memory;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// <c>AuthzGrpc.Server probe</c>: asks the server listening on this machine for its gRPC health (service <c>""</c>)
/// and exits 0 when it is SERVING, 1 otherwise. It is the container's HEALTHCHECK: runtime images carry no gRPC
/// health client, and the server knows its own address from the same configuration it listens on.
/// </summary>
public static class HealthProbe
{
    /// <summary>The first argument that selects the probe instead of the server.</summary>
    public const string Command = "probe";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    /// <summary>Probes the server configured by <paramref name="args"/> and the environment; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .Add(new MemoryConfigurationSource { InitialData = AuthzServer.Defaults })
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var address = LocalAddress(configuration[GrpcKestrel.UrlKey] ?? AuthzServer.DefaultUrl);
        // Over TLS the server's certificate must be trusted by this machine for the address it listens on, as for any client.
        using var channel = GrpcChannel.ForAddress(address);
        try
        {
            var reply = await new Health.HealthClient(channel)
                .CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(Deadline)).ConfigureAwait(false);
            Console.WriteLine($"{address}: {reply.Status}");
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException e)
        {
            Console.WriteLine($"{address}: {e.StatusCode} {e.Status.Detail}");
            return 1;
        }
    }

    /// <summary>The listening URL as a client dials it: a wildcard host (0.0.0.0, [::], *, +) means this machine.</summary>
    internal static Uri LocalAddress(string url)
    {
        var wildcard = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        var uri = new Uri(wildcard);
        return uri.Host is "0.0.0.0" or "[::]" or "::" ? new UriBuilder(uri) { Host = "127.0.0.1" }.Uri : uri;
    }
}
