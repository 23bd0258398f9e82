using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// The real server (as <see cref="ServerFixture"/>) on a <see cref="TestDatabase"/> of its own: a SQLite file in a
/// temporary folder, or a PostgreSQL database. A new database is seeded from the default model and its demo
/// relationships unless the settings say otherwise. <see cref="RestartAsync"/> stops it and starts a new server on
/// the same database. Disposing it stops the server; the test disposes the database.
/// </summary>
public sealed class StoreServer : IAsyncDisposable
{
    private readonly IDictionary<string, string?> _settings;
    private WebApplication? _app;

    private StoreServer(TestDatabase database, IDictionary<string, string?> settings, WebApplication app, LogCapture logs)
    {
        Database = database;
        Logs = logs;
        _settings = settings;
        _app = app;
        Address = new Uri(app.Urls.Single());
        Channel = GrpcChannel.ForAddress(Address);
    }

    /// <summary>The database the server keeps its data in.</summary>
    public TestDatabase Database { get; }

    /// <summary>Every log entry of this server.</summary>
    public LogCapture Logs { get; }

    /// <summary>The address the server listens on.</summary>
    public Uri Address { get; }

    /// <summary>An h2c channel to the server.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>A client of authz.v1.AuthorizationService.</summary>
    public AuthorizationService.AuthorizationServiceClient Authorization => new(Channel);

    /// <summary>A client of authz.v1.SchemaService.</summary>
    public SchemaService.SchemaServiceClient Schema => new(Channel);

    /// <summary>A client of authz.v1.RelationshipService.</summary>
    public RelationshipService.RelationshipServiceClient Relationships => new(Channel);

    /// <summary>The server's store (to read what is stored, e.g. the audit log).</summary>
    public AuthzStore Store => (_app ?? throw new InvalidOperationException("the server is stopped")).Services.GetRequiredService<AuthzStore>();

    /// <summary>
    /// Starts a server on <paramref name="database"/>; <paramref name="settings"/> go on top of the test defaults
    /// (the default model and relationships as the seed).
    /// </summary>
    public static async Task<StoreServer> StartAsync(TestDatabase database, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Authz:SchemaFile"] = ServerFixture.ModelPath("default.zed"),
            ["Authz:RelationshipsFile"] = ServerFixture.ModelPath("default.relationships"),
            ["Authz:Storage:Provider"] = database.ProviderName,
            ["Authz:Storage:ConnectionString"] = database.ConnectionString,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var logs = new LogCapture();
        var app = await ServerFixture.BuildServerAsync(logs, all);
        await app.StartAsync();
        return new StoreServer(database, all, app, logs);
    }

    /// <summary>Stops this server and starts a new one on the same database with the same settings.</summary>
    public async Task<StoreServer> RestartAsync()
    {
        await DisposeAsync();
        return await StartAsync(Database, _settings);
    }

    /// <summary>A new channel of its own (another client).</summary>
    public GrpcChannel NewChannel() => GrpcChannel.ForAddress(Address);

    /// <summary>Fails when the server logged at Error or above.</summary>
    public void AssertNoErrors()
    {
        var errors = Logs.ErrorsSince(0);
        Assert.True(errors.Count == 0, "The server logged errors:\n" + string.Join("\n", errors));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
