using System.Net;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>The HTTP probes <c>/healthz</c> and <c>/readyz</c> on the metrics listener, and the decision log line.</summary>
public sealed class ObservabilityTests
{
    private const string DecisionLogLevelKey = "Logging:LogLevel:AuthzGrpc.Server.Grpc.AuthorizationGrpcService";

    private static readonly Dictionary<string, string?> MetricsOnAFreePort = new() { [AuthzOptions.MetricsUrlKey] = "http://127.0.0.1:0" };

    [Fact]
    public async Task CheckAndBatchCheck_WithDebugOnForTheService_LogOneStructuredLinePerDecision()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { [DecisionLogLevelKey] = "Debug" });
        Assert.True(ApiKeyFormat.TryParse(TestKeys.Admin, out var adminKeyId, out _));
        var mark = server.Logs.Mark;

        var allowed = await server.Authorization.CheckAsync(Check("user:olivia", "view", "project:storefront"));
        var batch = await server.Authorization.BatchCheckAsync(new BatchCheckRequest
        {
            Items = { Check("user:devon", "view", "project:payments"), Check("group:eng#member", "view", "project:storefront") },
        });

        var lines = server.Logs.Since(mark).Where(entry => entry.EventId.Name == "CheckDecided").ToList();
        Assert.Equal(3, lines.Count);
        Assert.All(lines, line => Assert.Equal(LogLevel.Debug, line.Level));
        AssertDecision(lines[0], Decision.Allowed, "user:olivia", "view", "project:storefront", adminKeyId, allowed.Revision);
        AssertDecision(lines[1], Decision.Denied, "user:devon", "view", "project:payments", adminKeyId, batch.Revision);
        AssertDecision(lines[2], batch.Results[1].Decision, "group:eng#member", "view", "project:storefront", adminKeyId, batch.Revision);
    }

    [Fact]
    public async Task Check_AtTheDefaultLevel_LogsNoDecision()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        // The level a server runs at unless configured otherwise (the test servers otherwise log everything at Debug).
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { [DecisionLogLevelKey] = "Information" });
        var mark = server.Logs.Mark;

        var allowed = await server.Authorization.CheckAsync(Check("user:olivia", "view", "project:storefront"));
        await server.Authorization.BatchCheckAsync(new BatchCheckRequest { Items = { Check("user:devon", "view", "project:payments") } });

        Assert.Equal(Decision.Allowed, allowed.Decision);
        Assert.DoesNotContain(server.Logs.Since(mark), entry => entry.EventId.Name == "CheckDecided");
    }

    [Fact]
    public async Task Probes_OnAServerThatLoadedItsModel_AnswerAliveAndReadyOverHttp1()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database, MetricsOnAFreePort);
        using var http = new HttpClient();

        using var live = await http.GetAsync(new Uri(server.MetricsAddress!, HealthEndpoints.LivePath));
        using var ready = await http.GetAsync(new Uri(server.MetricsAddress!, HealthEndpoints.ReadyPath));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(new Version(1, 1), live.Version);
        Assert.Equal("alive\n", await live.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Probes_OnTheGrpcPort_AreNotServed(string path)
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database, MetricsOnAFreePort);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.Address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Readiness_BeforeTheModelIsLoaded_IsNotReadyAndSaysSo()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var store = await database.CreateMigratedStoreAsync();
        await using var services = HealthChecks(new EngineHolder(), store.Database, sharedGraph: HealthCheckResult.Healthy());

        var (isReady, reason) = await HealthEndpoints.ReadinessAsync(services.GetRequiredService<HealthCheckService>(), CancellationToken.None);

        Assert.False(isReady);
        Assert.Equal("model: the model is not loaded", reason);
    }

    [Fact]
    public async Task Readiness_WhenStorageDoesNotAnswer_IsNotReadyAndNamesStorage()
    {
        // A SQLite file that does not exist, opened without leave to create it: the database cannot be reached.
        var missing = Path.Combine(Path.GetTempPath(), $"authz-missing-{Guid.NewGuid():N}.db");
        using var store = AuthzStore.Create(StorageProvider.Sqlite, $"Data Source={missing};Mode=ReadWrite");
        await using var services = HealthChecks(LoadedHolder(), store.Database, sharedGraph: HealthCheckResult.Healthy());

        var (isReady, reason) = await HealthEndpoints.ReadinessAsync(services.GetRequiredService<HealthCheckService>(), CancellationToken.None);

        Assert.False(isReady);
        Assert.StartsWith("storage: ", reason, StringComparison.Ordinal);
        Assert.False(File.Exists(missing));
    }

    [Fact]
    public async Task Readiness_WithTheSharedGraphAway_StaysReady()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var store = await database.CreateMigratedStoreAsync();
        await using var services = HealthChecks(LoadedHolder(), store.Database, sharedGraph: HealthCheckResult.Unhealthy("degraded: Redis is unreachable"));

        var (isReady, reason) = await HealthEndpoints.ReadinessAsync(services.GetRequiredService<HealthCheckService>(), CancellationToken.None);

        Assert.True(isReady, reason);
    }

    // The checks the server registers for health, the shared graph's replaced by one that answers sharedGraph.
    private static ServiceProvider HealthChecks(EngineHolder holder, AuthzDatabase database, HealthCheckResult sharedGraph)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<ISchemaInForce>(holder);
        services.AddSingleton(database);
        services.AddHealthChecks()
            .AddCheck<ModelHealthCheck>("model")
            .AddCheck<StorageHealthCheck>("storage")
            .AddCheck("shared-graph", () => sharedGraph, tags: [SharedGraphHealthCheck.Tag]);
        return services.BuildServiceProvider();
    }

    private static EngineHolder LoadedHolder()
    {
        var holder = new EngineHolder();
        holder.Swap(new PermissionEngine(CompiledSchema.Compile("definition user {}")));
        return holder;
    }

    private static void AssertDecision(
        LogEntry line, Decision decision, string subject, string action, string resource, string keyId, string revision)
    {
        Assert.Equal(decision, line.Fields["Decision"]);
        Assert.Equal(subject, line.Fields["Subject"]);
        Assert.Equal(action, line.Fields["Action"]);
        Assert.Equal(resource, line.Fields["Resource"]);
        Assert.Equal(keyId, line.Fields["KeyId"]);
        Assert.Equal(revision, line.Fields["Revision"]);
        Assert.Equal(AuthorizationGrpcService.EngineSource, line.Fields["Source"]);
    }
}
