using System.Globalization;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// Replicas of one deployment as server processes on one database and one Redis: a <see cref="Writer"/> that receives
/// every write, and <see cref="CheckReplicas"/>: check replicas (<c>Authz:Role=check</c>), which hold no engine and never
/// poll the database (what they learn of writes comes through the shared graph, or from the database for a token Redis
/// has not applied). Management checks (a Check with a context) need the whole model: the check replicas forward them
/// to the writer (<c>Authz:FullReplicaAddress</c>), and <see cref="AdminChecks"/> asks the check replicas in turn (the
/// writer when there are none). Every replica has a metrics listener of its own (<see cref="MetricsOf"/>). Disposing it
/// stops them all.
/// </summary>
internal sealed class ReplicaDeployment : IManagementCaseDeployment, IAsyncDisposable
{
    private readonly List<(ServerProcess Server, Uri Metrics)> _replicas;
    private readonly AuthzStore _store;
    private readonly DirectoryInfo _seed;
    private readonly Dictionary<(string Caller, string Email), string> _keys = [];
    private readonly Dictionary<(string Key, Uri Address), GrpcChannel> _channels = [];
    private int _nextChecker;
    private int _nextAdminChecker;

    private ReplicaDeployment(List<(ServerProcess, Uri)> replicas, AuthzStore store, DirectoryInfo seed)
    {
        _replicas = replicas;
        _store = store;
        _seed = seed;
    }

    /// <summary>The replica that receives every write.</summary>
    public ServerProcess Writer => _replicas[0].Server;

    /// <summary>The replicas that receive only checks.</summary>
    public IReadOnlyList<ServerProcess> CheckReplicas => [.. _replicas.Skip(1).Select(r => r.Server)];

    /// <inheritdoc/>
    public AuthorizationService.AuthorizationServiceClient AdminChecks =>
        new(Channel(CheckReplicas.Count == 0 ? Writer.Address : CheckReplicas[_nextAdminChecker++ % CheckReplicas.Count].Address, TestKeys.Admin));

    /// <inheritdoc/>
    public InvitationStore Invitations => _store.Invitations;

    /// <summary>
    /// Starts a writer and <paramref name="checkReplicas"/> check replicas on <paramref name="database"/>, seeded with
    /// <paramref name="validation"/>'s schema and relationships, sharing the graph in <paramref name="redisConfiguration"/>;
    /// returns once each serves the shared graph.
    /// </summary>
    public static async Task<ReplicaDeployment> StartAsync(ValidationFile validation, TestDatabase database, string redisConfiguration, int checkReplicas)
    {
        var seed = Directory.CreateTempSubdirectory("authz-replicas-seed-");
        var schema = Path.Combine(seed.FullName, "model.zed");
        var relationships = Path.Combine(seed.FullName, "model.relationships");
        await File.WriteAllTextAsync(schema, validation.SchemaText);
        await File.WriteAllLinesAsync(relationships, validation.Relationships.Select(r => r.ToString()));
        string[] shared =
        [
            $"--Authz:Storage:Provider={database.ProviderName}",
            $"--Authz:Storage:ConnectionString={database.ConnectionString}",
            $"--Authz:SchemaFile={schema}",
            $"--Authz:RelationshipsFile={relationships}",
            $"--Authz:Redis:Configuration={redisConfiguration}",
            $"--Authz:Auth:BootstrapKey={TestKeys.Admin}",
            // Generous for a busy 2-core machine: the tests count how checks were answered.
            "--Authz:Redis:TimeoutMilliseconds=3000",
        ];
        var replicas = new List<(ServerProcess, Uri)>();
        var deployment = new ReplicaDeployment(replicas, database.CreateStore(), seed);
        try
        {
            // The writer first: it migrates and seeds the database the others then load.
            replicas.Add(await StartReplicaAsync(shared, "200"));
            // What they cannot answer (management checks, Explain, lookups) they forward to the writer.
            string[] checkRole = [.. shared, "--Authz:Role=check", $"--Authz:FullReplicaAddress={replicas[0].Item1.Address}"];
            var checkers = Enumerable.Range(0, checkReplicas).Select(_ => StartReplicaAsync(checkRole, "3600000")).ToList();
            foreach (var checker in checkers)
            {
                replicas.Add(await checker);
            }

            foreach (var (server, _) in replicas)
            {
                await WaitForSharedGraphAsync(deployment.Channel(server.Address, TestKeys.Admin));
            }

            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>The metrics listener of <paramref name="replica"/>.</summary>
    public Uri MetricsOf(ServerProcess replica) => _replicas.Single(r => r.Server == replica).Metrics;

    /// <summary>A channel to <paramref name="address"/> sending <paramref name="key"/>; the deployment disposes it.</summary>
    public GrpcChannel Channel(Uri address, string key)
    {
        if (!_channels.TryGetValue((key, address), out var channel))
        {
            _channels[(key, address)] = channel = TestKeys.Channel(address, key);
        }

        return channel;
    }

    /// <inheritdoc/>
    public async Task<GrpcChannel> WriterAsync(Core.Model.SubjectRef caller, string email) => Channel(Writer.Address, await KeyOfAsync(caller, email));

    /// <summary>The check replicas in turn.</summary>
    public async Task<GrpcChannel> CheckerAsync(Core.Model.SubjectRef caller, string email) =>
        Channel(CheckReplicas[_nextChecker++ % CheckReplicas.Count].Address, await KeyOfAsync(caller, email));

    /// <inheritdoc/>
    public Task<long> RevisionAsync() => _store.Model.CurrentRevisionAsync();

    /// <inheritdoc/>
    public async Task RevertAsync(ManagementChanges changes)
    {
        if (StoreServer.RevertRequest(changes) is { } revert)
        {
            await new RelationshipService.RelationshipServiceClient(Channel(Writer.Address, TestKeys.Admin)).WriteRelationshipsAsync(revert);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        foreach (var (server, _) in _replicas)
        {
            await server.DisposeAsync();
        }

        await _store.DisposeAsync();
        _seed.Delete(recursive: true);
    }

    private static async Task<(ServerProcess, Uri)> StartReplicaAsync(string[] shared, string syncIntervalMilliseconds)
    {
        var metrics = new Uri($"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}");
        var server = await ServerProcess.StartAsync(
            [.. shared, $"--Authz:SyncIntervalMilliseconds={syncIntervalMilliseconds}", $"--Authz:MetricsUrl={metrics}"]);
        return (server, metrics);
    }

    /// <summary>Waits (at most 30 s) until the replica behind <paramref name="channel"/> reports the shared graph SERVING.</summary>
    public static async Task WaitForSharedGraphAsync(GrpcChannel channel)
    {
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await health.CheckAsync(new HealthCheckRequest { Service = "authz.v1.SharedGraph" })).Status !=
            HealthCheckResponse.Types.ServingStatus.Serving)
        {
            Assert.True(DateTime.UtcNow < deadline, "the shared graph did not come up");
            await Task.Delay(50);
        }
    }

    // One management key per caller and address, made through the writer as an administrator would.
    private async Task<string> KeyOfAsync(Core.Model.SubjectRef caller, string email)
    {
        if (!_keys.TryGetValue((caller.ToString(), email), out var key))
        {
            var created = await new ApiKeyService.ApiKeyServiceClient(Channel(Writer.Address, TestKeys.Admin)).CreateApiKeyAsync(new CreateApiKeyRequest
            {
                Subject = new V1.SubjectRef { Object = new V1.ObjectRef { Type = caller.Type, Id = caller.Id } },
                Kind = KeyKind.Management,
                Description = string.Create(CultureInfo.InvariantCulture, $"test caller {caller}"),
                Email = email,
            });
            _keys[(caller.ToString(), email)] = key = created.Key;
        }

        return key;
    }
}
