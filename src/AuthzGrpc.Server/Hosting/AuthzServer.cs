using AuthzGrpc.Server.Authentication;
using Microsoft.Extensions.Configuration.Memory;

namespace AuthzGrpc.Server.Hosting;

/// <summary>Builds the server: used by <c>Program</c> and, unchanged, by the integration tests.</summary>
public static class AuthzServer
{
    /// <summary>Where the server listens unless <c>Kestrel:Endpoints:Grpc:Url</c> says otherwise.</summary>
    public const string DefaultUrl = GrpcKestrel.DefaultUrl;

    // Lowest-priority configuration: every other source (appsettings, AUTHZ-style environment variables such as
    // Kestrel__Endpoints__Grpc__Url, the command line) overrides these.
    internal static readonly Dictionary<string, string?> Defaults = new(GrpcKestrel.Defaults, StringComparer.OrdinalIgnoreCase)
    {
        // grpc-dotnet logs every refused call at Information (and a request that did not parse with its stack
        // trace), and ASP.NET Core every request twice: anyone can send those, key or none. The server logs its
        // refusals itself, at Debug; warnings and errors of both remain.
        ["Logging:LogLevel:Grpc.AspNetCore.Server.ServerCallHandler"] = "Warning",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",

        // While this category is on at any level, ASP.NET Core gives every request a log scope and an Activity: about
        // 1 KB allocated per call, more than the rest of a Check (docs/PERFORMANCE.md). Its messages are the request
        // lines, off above, and a startup failure the process reports anyway. Tracing (Authz:OtlpEndpoint) still gets
        // its activities; set this to Warning to have the request scope back in logs.
        ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
    };

    /// <summary>
    /// Creates the application from <paramref name="args"/> (command-line configuration) and the usual sources;
    /// <paramref name="configure"/> runs after the server's own registrations, so a caller can override them, and before
    /// the metrics listener and exporter are added from the configuration (<c>Authz:MetricsUrl</c>).
    /// The model is loaded here, before anything listens: the storage is opened and migrated, and the engine loaded
    /// from it (a new database is first seeded from the schema and relationships files), then the bootstrap admin key
    /// is stored or generated. Unusable storage, a bad schema or relationships file, invalid <c>Authz</c> options or
    /// an unusable bootstrap key throw <see cref="ModelLoadException"/>, already logged at Critical.
    /// </summary>
    public static async Task<WebApplication> BuildAsync(
        string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        builder.Services.AddAuthzServer();
        configure?.Invoke(builder);
        // After configure: metrics, traces, the Unix socket and client certificates follow the configuration with every source added.
        builder.AddAuthzMetrics();
        builder.AddAuthzConsole();
        builder.AddAuthzTracing();
        builder.AddAuthzUnixSocket();
        builder.AddAuthzClientCertificates();

        var app = builder.Build();
        try
        {
            if (AuthzServerExtensions.IsCheckReplica(app.Services))
            {
                // The schema alone; the database is a full replica's to create, migrate, seed and give its bootstrap key.
                await app.Services.GetRequiredService<CheckReplicaLoader>().LoadAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await app.Services.GetRequiredService<ModelLoader>().LoadAsync(cancellationToken).ConfigureAwait(false);
                await app.Services.GetRequiredService<ApiKeyBootstrap>().RunAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ModelLoadException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        app.MapAuthzServer();
        return app;
    }
}
