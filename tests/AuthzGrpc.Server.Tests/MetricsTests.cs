using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Metrics;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The tests that count what servers record. Meters are matched by name across the whole process, so a server running
/// at the same time in this test process would add its checks to these counts: this collection runs alone, after the
/// others.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "metrics";
}

/// <summary>The Prometheus scrape endpoint (<c>Authz:MetricsUrl</c>) and what it shows, each test on a server of its own.</summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsTests
{
    private static readonly Dictionary<string, string?> MetricsOnAFreePort = new() { [AuthzOptions.MetricsUrlKey] = "http://127.0.0.1:0" };

    [Fact]
    public async Task Scrape_AfterAllowedDeniedAndFailedChecks_CountsEachOutcomeAndEachDuration()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database, MetricsOnAFreePort);
        var client = server.Authorization;

        // Check without a consistency (minimize_latency): 3 allowed, 2 denied.
        await client.CheckAsync(Check("user:olivia", "view", "project:storefront"));
        await client.CheckAsync(Check("user:olivia", "view", "project:storefront"));
        await client.CheckAsync(Check("user:devon", "deploy", "environment:storefront-prod"));
        await client.CheckAsync(Check("user:sara", "change_settings", "project:storefront"));
        await client.CheckAsync(Check("user:devon", "view", "project:payments"));
        // One allowed fully_consistent, one denied at_least.
        await client.CheckAsync(WithConsistency(Check("user:devon", "deploy", "environment:storefront-prod"), new() { FullyConsistent = true }));
        await client.CheckAsync(WithConsistency(Check("user:eric", "view", "project:storefront"), new() { AtLeast = "1" }));
        // A type the schema does not define fails (minimize_latency).
        await Assert.ThrowsAsync<RpcException>(async () => await client.CheckAsync(Check("user:olivia", "view", "projekt:storefront")));
        // A batch of 2 allowed and 1 denied, and a batch that fails on its second item.
        await client.BatchCheckAsync(new BatchCheckRequest
        {
            Items =
            {
                Check("user:olivia", "view", "project:storefront"),
                Check("user:devon", "deploy", "environment:storefront-prod"),
                Check("user:devon", "view", "project:payments"),
            },
        });
        await Assert.ThrowsAsync<RpcException>(async () => await client.BatchCheckAsync(new BatchCheckRequest
        {
            Items = { Check("user:olivia", "view", "project:storefront"), Check("user:olivia", "view", "projekt:storefront") },
        }));

        var scrape = await PrometheusScrape.GetAsync(server.MetricsAddress!);

        Assert.Equal(4, Decisions(scrape, "check", "allowed"));
        Assert.Equal(3, Decisions(scrape, "check", "denied"));
        Assert.Equal(1, Decisions(scrape, "check", "error"));
        Assert.Equal(2, Decisions(scrape, "batch_check", "allowed"));
        Assert.Equal(1, Decisions(scrape, "batch_check", "denied"));
        Assert.Equal(1, Decisions(scrape, "batch_check", "error"));

        // Every call, answered or failed, is timed once, by RPC and consistency.
        AssertDurations(scrape, "check", "minimize_latency", 6);
        AssertDurations(scrape, "check", "fully_consistent", 1);
        AssertDurations(scrape, "check", "at_least", 1);
        AssertDurations(scrape, "batch_check", "minimize_latency", 2);

        // The engine answers at the seed's revision 1, which the fully_consistent check read from the store.
        var engine = server.Services.GetRequiredService<EngineHolder>().Current;
        Assert.Equal(0, scrape.Value("authz_engine_revision_lag"));
        Assert.Equal(1, scrape.Value("authz_engine_revision"));
        Assert.Equal(engine.RelationshipCount, scrape.Value("authz_engine_relationships"));
        Assert.True(scrape.Value("authz_engine_sync_age_seconds") >= 0);
        Assert.Contains(server.Logs.Since(0), e => e.EventId.Name == "ServingMetrics");
        server.AssertNoErrors();
    }

    [Fact]
    public async Task Scrape_WhenTheStoreIsSeenAheadOfTheEngine_ReportsTheRevisionLag()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database, MetricsOnAFreePort);
        var engine = server.Services.GetRequiredService<EngineHolder>().Current;

        // As a poll would that read the store's newest revision before the engine caught up with it.
        server.Services.GetRequiredService<EngineSync>().NoteStoreRevision(engine.Revision + 3);
        var scrape = await PrometheusScrape.GetAsync(server.MetricsAddress!);

        Assert.Equal(3, scrape.Value("authz_engine_revision_lag"));
        Assert.Equal(engine.Revision, scrape.Value("authz_engine_revision"));
    }

    [Fact]
    public async Task Metrics_AreServedAtMetricsOnTheMetricsListenerOnly()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database, MetricsOnAFreePort);
        var metrics = server.MetricsAddress!;
        Assert.NotEqual(server.Address.Port, metrics.Port);

        // The gRPC endpoint, asked over its HTTP/2, has no /metrics.
        using var h2c = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var onGrpc = await h2c.GetAsync(new Uri(server.Address, "/metrics"));
        Assert.Equal(HttpStatusCode.NotFound, onGrpc.StatusCode);
        Assert.DoesNotContain("authz_", await onGrpc.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The metrics listener serves nothing else: neither another path nor a gRPC method.
        using var http = new HttpClient();
        using var root = await http.GetAsync(metrics);
        Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
        using var grpcMethod = await http.PostAsync(new Uri(metrics, "/authz.v1.AuthorizationService/Check"), new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.NotFound, grpcMethod.StatusCode);

        var scrape = await PrometheusScrape.GetAsync(metrics);
        Assert.NotEmpty(scrape.Find("authz_engine_revision"));
        server.AssertNoErrors();
    }

    [Fact]
    public async Task Start_WithAnEmptyMetricsUrl_ListensForGrpcOnlyAndExportsNothing()
    {
        var logs = new LogCapture();
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var app = await ServerFixture.BuildServerAsync(logs, new Dictionary<string, string?>
        {
            ["Authz:SchemaFile"] = ServerFixture.ModelPath("default.zed"),
            ["Authz:RelationshipsFile"] = ServerFixture.ModelPath("default.relationships"),
            ["Authz:Storage:ConnectionString"] = database.ConnectionString,
            [AuthzOptions.MetricsUrlKey] = "",
        });
        await app.StartAsync();

        Assert.Single(app.Urls);
        Assert.Null(app.Services.GetService<MetricsEndpoint>());
        Assert.Null(app.Services.GetService<MeterProvider>());
        Assert.DoesNotContain(logs.Since(0), e => e.EventId.Name == "ServingMetrics");
        await app.StopAsync();
    }

    [Theory]
    [InlineData("https://127.0.0.1:9464")]
    [InlineData("http://localhost:9464")]
    [InlineData("127.0.0.1:9464")]
    [InlineData("http://127.0.0.1:9464/metrics")]
    public async Task Build_UnusableMetricsUrl_FailsNamingTheOption(string url)
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), new Dictionary<string, string?>
        {
            ["Authz:SchemaFile"] = ServerFixture.ModelPath("default.zed"),
            ["Authz:Storage:ConnectionString"] = database.ConnectionString,
            [AuthzOptions.MetricsUrlKey] = url,
        }));

        Assert.Contains($"Authz:MetricsUrl '{url}'", error.Message, StringComparison.Ordinal);
    }

    private static CheckRequest WithConsistency(CheckRequest request, Consistency consistency)
    {
        request.Consistency = consistency;
        return request;
    }

    private static double Decisions(PrometheusScrape scrape, string rpc, string outcome) =>
        scrape.Value("authz_check_decisions_total", ("rpc", rpc), ("outcome", outcome));

    // The histogram of one RPC and consistency: the count, the buckets made for µs-ms latencies, cumulative up to +Inf.
    private static void AssertDurations(PrometheusScrape scrape, string rpc, string consistency, int count)
    {
        Assert.Equal(count, scrape.Value("authz_check_duration_seconds_count", ("rpc", rpc), ("consistency", consistency)));
        var buckets = scrape.Find("authz_check_duration_seconds_bucket", ("rpc", rpc), ("consistency", consistency));
        double[] bounds =
        [
            0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
            0.1, 0.25, 0.5, 1, double.PositiveInfinity,
        ];
        Assert.Equal(bounds, buckets.Select(b => PrometheusScrape.ParseNumber(b.Labels["le"])));
        for (var i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value, "buckets are cumulative");
        }

        Assert.Equal(count, buckets[^1].Value);
    }
}

/// <summary>The instruments themselves, on a meter factory of the test's own.</summary>
public sealed class AuthzMetricsTests
{
    [Fact]
    public async Task Recording_WhileListenedTo_AllocatesNothing()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var store = database.CreateStore();
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var holder = new EngineHolder();
        using var sync = new EngineSync(store.Model, holder, NullLogger<EngineSync>.Instance);
        var metrics = new AuthzMetrics(meterFactory, holder, sync);
        var batch = new BatchCheckResponse { Results = { new CheckResponse { Decision = Decision.Allowed }, new CheckResponse { Decision = Decision.Denied } } };
        var measurements = 0;
        using var listener = new MeterListener
        {
            // Only this test's meter: other tests' servers record under the same name at the same time.
            InstrumentPublished = (instrument, meterListener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    meterListener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => measurements++);
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => measurements++);
        listener.Start();

        var allocated = RecordEveryKind(metrics, batch, times: 1); // the first time through may initialize statics
        allocated = RecordEveryKind(metrics, batch, times: 1000);

        Assert.Equal(0, allocated);
        Assert.Equal(1001 * 11, measurements);
    }

    // Returns the bytes this thread allocated while recording each kind of call `times` times (11 measurements each).
    private static long RecordEveryKind(AuthzMetrics metrics, BatchCheckResponse batch, int times)
    {
        var atLeast = new Consistency { AtLeast = "7" };
        var fullyConsistent = new Consistency { FullyConsistent = true };
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < times; i++)
        {
            var started = Stopwatch.GetTimestamp();
            metrics.RecordCheck(CheckRpc.Check, null, Decision.Allowed, started);
            metrics.RecordCheck(CheckRpc.Check, atLeast, Decision.Denied, started);
            metrics.RecordCheckFailed(CheckRpc.Check, fullyConsistent, started);
            metrics.RecordBatchCheck(null, batch.Results, started);
            metrics.RecordCheckFailed(CheckRpc.BatchCheck, atLeast, started);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
