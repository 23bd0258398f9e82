using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
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
    private readonly Dictionary<(string Subject, KeyKind Kind, string? Email), GrpcChannel> _callers = [];
    private WebApplication? _app;

    private StoreServer(TestDatabase database, IDictionary<string, string?> settings, WebApplication app, LogCapture logs)
    {
        Database = database;
        Logs = logs;
        _settings = settings;
        _app = app;
        Address = ServerFixture.GrpcAddress(app);
        MetricsAddress = app.Services.GetService<MetricsEndpoint>()?.Address;
        Channel = TestKeys.Channel(Address, TestKeys.Admin);
    }

    /// <summary>The database the server keeps its data in.</summary>
    public TestDatabase Database { get; }

    /// <summary>Every log entry of this server.</summary>
    public LogCapture Logs { get; }

    /// <summary>The address the server listens on.</summary>
    public Uri Address { get; }

    /// <summary>The address of the metrics listener (scrape <c>/metrics</c> under it); null when metrics are off.</summary>
    public Uri? MetricsAddress { get; }

    /// <summary>An h2c channel to the server that sends the admin key <see cref="TestKeys.Admin"/>.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>A client of authz.v1.AuthorizationService.</summary>
    public AuthorizationService.AuthorizationServiceClient Authorization => new(Channel);

    /// <summary>A client of authz.v1.SchemaService.</summary>
    public SchemaService.SchemaServiceClient Schema => new(Channel);

    /// <summary>A client of authz.v1.RelationshipService.</summary>
    public RelationshipService.RelationshipServiceClient Relationships => new(Channel);

    /// <summary>The server's services (e.g. the shared graph, to read its counters).</summary>
    public IServiceProvider Services => (_app ?? throw new InvalidOperationException("the server is stopped")).Services;

    /// <summary>The server's store (to read what is stored, e.g. the audit log).</summary>
    public AuthzStore Store => Services.GetRequiredService<AuthzStore>();

    /// <summary>
    /// Starts a server on <paramref name="database"/>; <paramref name="settings"/> go on top of the test defaults
    /// (the default model and relationships as the seed); <paramref name="clock"/>, when given, is the server's clock.
    /// </summary>
    public static async Task<StoreServer> StartAsync(TestDatabase database, IDictionary<string, string?>? settings = null, TimeProvider? clock = null)
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
        var app = await ServerFixture.BuildServerAsync(logs, all, clock);
        await app.StartAsync();
        return new StoreServer(database, all, app, logs);
    }

    /// <summary>Stops this server and starts a new one on the same database with the same settings.</summary>
    public async Task<StoreServer> RestartAsync()
    {
        await DisposeAsync();
        return await StartAsync(Database, _settings);
    }

    /// <summary>A new channel of its own (another client), sending the admin key.</summary>
    public GrpcChannel NewChannel() => TestKeys.Channel(Address, TestKeys.Admin);

    /// <summary>A new channel sending <paramref name="key"/> (none when null).</summary>
    public GrpcChannel ChannelWith(string? key) => TestKeys.Channel(Address, key);

    /// <summary>
    /// A channel whose calls act as <paramref name="subject"/>: the first call for a subject and kind creates an API key
    /// of that <paramref name="kind"/> (through ApiKeyService, with the admin key); later calls reuse it. The server
    /// disposes the channels. With <paramref name="email"/>, the key carries it as the subject's verified email (what
    /// AcceptInvitation matches against the invited address).
    /// </summary>
    public async Task<GrpcChannel> ChannelForAsync(Core.Model.SubjectRef subject, KeyKind kind = KeyKind.Management, string? email = null)
    {
        if (!_callers.TryGetValue((subject.ToString(), kind, email), out var channel))
        {
            var created = await new ApiKeyService.ApiKeyServiceClient(Channel).CreateApiKeyAsync(new CreateApiKeyRequest
            {
                Subject = new V1.SubjectRef { Object = new V1.ObjectRef { Type = subject.Type, Id = subject.Id } },
                Kind = kind,
                Description = $"test caller {subject}",
                Email = email ?? string.Empty,
            });
            _callers[(subject.ToString(), kind, email)] = channel = ChannelWith(created.Key);
        }

        return channel;
    }

    /// <inheritdoc cref="ChannelForAsync(Core.Model.SubjectRef, KeyKind, string?)"/>
    public Task<GrpcChannel> ChannelForAsync(string subject, KeyKind kind = KeyKind.Management, string? email = null) =>
        ChannelForAsync(Core.Model.SubjectRef.Parse(subject), kind, email);

    /// <summary>The newest committed revision, as the store has it.</summary>
    public Task<long> RevisionAsync() => Store.Model.CurrentRevisionAsync();

    /// <summary>Undoes what a management call changed (deletes what it added, restores what it removed) with the admin key.</summary>
    public async Task RevertAsync(ManagementChanges changes)
    {
        if (RevertRequest(changes) is { } request)
        {
            await Relationships.WriteRelationshipsAsync(request);
        }
    }

    /// <summary>The write that undoes <paramref name="changes"/> (deletes what was added, restores what was removed); null when there is nothing to undo.</summary>
    public static WriteRelationshipsRequest? RevertRequest(ManagementChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var request = new WriteRelationshipsRequest();
        request.Updates.AddRange(changes.Added.Select(r => new V1.RelationshipUpdate { Operation = Operation.Delete, Relationship = r }));
        request.Updates.AddRange(changes.Removed.Select(r => new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = r }));
        return request.Updates.Count > 0 ? request : null;
    }

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
        foreach (var channel in _callers.Values)
        {
            channel.Dispose();
        }

        _callers.Clear();
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
