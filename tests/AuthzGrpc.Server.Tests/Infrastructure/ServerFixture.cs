using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// The real server — composed by <see cref="AuthzServer.BuildAsync"/> exactly as Program does — on Kestrel at
/// 127.0.0.1 with a free port, serving the default model and models/default.relationships (seeded into a new SQLite
/// file in a temporary folder, deleted afterwards); clients talk to it over plaintext HTTP/2 through the generated stubs,
/// authenticated with the bootstrap admin key <see cref="TestKeys.Admin"/>.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("authz-server-").FullName;
    private WebApplication? _app;
    private GrpcChannel? _channel;

    /// <summary>Every log entry of the server.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>The address the server is bound to, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>An h2c channel to the server that sends the admin key <see cref="TestKeys.Admin"/>.</summary>
    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("the server is not started");

    /// <summary>The folder holding the server's SQLite file.</summary>
    public string DataFolder => _data;

    /// <summary>The server's store (to read what is stored, e.g. the audit log).</summary>
    public AuthzStore Store => (_app ?? throw new InvalidOperationException("the server is not started")).Services.GetRequiredService<AuthzStore>();

    /// <summary>A new channel to the server sending <paramref name="key"/> (none when null); dispose it.</summary>
    public GrpcChannel ChannelWith(string? key) => TestKeys.Channel(Address, key);

    /// <summary>A client of authz.v1.AuthorizationService.</summary>
    public AuthorizationService.AuthorizationServiceClient Authorization => new(Channel);

    /// <summary>The path of a file under the test output's models/ folder.</summary>
    public static string ModelPath(string fileName) => Path.Combine(AppContext.BaseDirectory, "models", fileName);

    /// <summary>
    /// Builds a server on a free loopback port with the given configuration on top of the defaults (pass
    /// <c>Authz:Storage:ConnectionString</c>, or the server uses <c>.data/authz.db</c> under the current directory).
    /// Its bootstrap admin key is <see cref="TestKeys.Admin"/> unless the settings give <c>Authz:Auth:BootstrapKey</c>
    /// (empty: the server generates one into <c>bootstrap.key</c> beside the SQLite file). Metrics are off unless the
    /// settings give <c>Authz:MetricsUrl</c> (e.g. <c>http://127.0.0.1:0</c>): servers running side by side would all
    /// want the default port.
    /// </summary>
    public static Task<WebApplication> BuildServerAsync(LogCapture logs, IDictionary<string, string?> settings, TimeProvider? clock = null) =>
        AuthzServer.BuildAsync([], builder =>
        {
            if (clock is not null)
            {
                builder.Services.AddSingleton(clock);
            }

            var all = new Dictionary<string, string?>
            {
                ["Authz:Auth:BootstrapKey"] = TestKeys.Admin,
                [AuthzOptions.MetricsUrlKey] = string.Empty,

                // The per-decision line stays at its production level (off) unless a test asks for it: everything else
                // is logged at Debug, but a Check that formats a log line would no longer be the hot path it measures.
                ["Logging:LogLevel:AuthzGrpc.Server.Grpc.AuthorizationGrpcService"] = "Information",
            };
            foreach (var (key, value) in settings)
            {
                all[key] = value;
            }

            all["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0";
            builder.Configuration.AddInMemoryCollection(all);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
        });

    /// <summary>The gRPC address of a started server: its one address besides the metrics listener's, if any.</summary>
    public static Uri GrpcAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var metrics = app.Services.GetService<MetricsEndpoint>()?.Address;
        return new Uri(app.Urls.Single(url => new Uri(url) != metrics));
    }

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        _app = await BuildServerAsync(Logs, new Dictionary<string, string?>
        {
            ["Authz:SchemaFile"] = ModelPath("default.zed"),
            ["Authz:RelationshipsFile"] = ModelPath("default.relationships"),
            ["Authz:Storage:ConnectionString"] = $"Data Source={Path.Combine(_data, "authz.db")}",
        });
        await _app.StartAsync();
        Address = GrpcAddress(_app);
        _channel = TestKeys.Channel(Address, TestKeys.Admin);
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }
}

/// <summary>The test classes that share one running server; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "server";
}

/// <summary>
/// Base of the tests against the shared server: fails a test that made the server log at Error or above
/// (an error is a bug even when the client got a sensible status).
/// </summary>
public abstract class ServerTest : IDisposable
{
    private readonly long _mark;

    /// <summary>Remembers where the server's log stood when the test started.</summary>
    protected ServerTest(ServerFixture server)
    {
        Server = server;
        _mark = server.Logs.Mark;
    }

    /// <summary>The running server.</summary>
    protected ServerFixture Server { get; }

    /// <summary>A client of authz.v1.AuthorizationService.</summary>
    protected AuthorizationService.AuthorizationServiceClient Client => Server.Authorization;

    /// <inheritdoc/>
    public void Dispose()
    {
        var errors = Server.Logs.ErrorsSince(_mark);
        Assert.True(errors.Count == 0, "The server logged errors:\n" + string.Join("\n", errors));
        GC.SuppressFinalize(this);
    }
}
