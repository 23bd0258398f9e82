using AuthzGrpc.Core.Engine;
using Microsoft.Extensions.Configuration.Memory;

namespace AuthzGrpc.Server.Hosting;

/// <summary>Builds the server: used by <c>Program</c> and, unchanged, by the integration tests.</summary>
public static class AuthzServer
{
    /// <summary>Where the server listens unless <c>Kestrel:Endpoints:Grpc:Url</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:50051";

    // Lowest-priority configuration: every other source (appsettings, AUTHZ-style environment variables such as
    // Kestrel__Endpoints__Grpc__Url, the command line) overrides these.
    private static readonly Dictionary<string, string?> Defaults = new(StringComparer.OrdinalIgnoreCase)
    {
        // Plaintext HTTP/2 (h2c) on loopback: without TLS there is no ALPN, so the endpoint must be HTTP/2 only.
        ["Kestrel:EndpointDefaults:Protocols"] = "Http2",
        ["Kestrel:Endpoints:Grpc:Url"] = DefaultUrl,
        ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
    };

    /// <summary>
    /// Creates the application from <paramref name="args"/> (command-line configuration) and the usual sources;
    /// <paramref name="configure"/> runs after the server's own registrations, so a caller can override them.
    /// The model is loaded here, before anything listens: a bad schema or relationships file (or invalid
    /// <c>Authz</c> options) throws <see cref="ModelLoadException"/>, already logged at Critical.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        builder.Services.AddAuthzServer();
        configure?.Invoke(builder);

        var app = builder.Build();
        try
        {
            app.Services.GetRequiredService<PermissionEngine>();
        }
        catch (ModelLoadException)
        {
            ((IDisposable)app).Dispose();
            throw;
        }

        app.MapAuthzServer();
        return app;
    }
}
