using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The activities of <see cref="AuthzTracing"/>, seen by a listener in this process. A listener hears every server in
/// the process, so these tests run in the collection that runs alone.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class TracingTests
{
    [Fact]
    public async Task CheckBatchCheckAndWrite_WithAListener_AreOneActivityEachWithTheirTags()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == AuthzTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database);
        stopped.Clear();

        var allowed = await server.Authorization.CheckAsync(Check("user:olivia", "view", "project:storefront"));
        var denied = await server.Authorization.CheckAsync(Check("user:devon", "deploy", "project:payments"));
        var batch = await server.Authorization.BatchCheckAsync(new BatchCheckRequest
        {
            Items = { Check("user:olivia", "view", "project:storefront"), Check("user:devon", "view", "project:payments") },
        });
        var written = await server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:storefront#viewer@user:zoe")));

        var activities = stopped.ToArray();
        var checks = activities.Where(activity => activity.OperationName == "Check").ToArray();
        Assert.Equal(2, checks.Length);
        AssertCheck(checks[0], "Allowed", allowed.Revision, "view");
        AssertCheck(checks[1], "Denied", denied.Revision, "deploy");
        var batchCheck = Assert.Single(activities, activity => activity.OperationName == "BatchCheck");
        Assert.Equal(2, batchCheck.GetTagItem(AuthzTracing.ItemsTag));
        Assert.Equal(1, batchCheck.GetTagItem(AuthzTracing.AllowedTag));
        Assert.Equal(batch.Revision, batchCheck.GetTagItem(AuthzTracing.RevisionTag));
        var write = Assert.Single(activities, activity => activity.OperationName == "Write");
        Assert.Equal("WriteRelationships", write.GetTagItem(AuthzTracing.OperationTag));
        Assert.Equal(written.Revision, Convert.ToString(write.GetTagItem(AuthzTracing.RevisionTag), CultureInfo.InvariantCulture));
    }

    private static void AssertCheck(Activity check, string decision, string revision, string action)
    {
        Assert.Equal(decision, check.GetTagItem(AuthzTracing.DecisionTag));
        Assert.Equal(revision, check.GetTagItem(AuthzTracing.RevisionTag));
        Assert.Equal(action, check.GetTagItem(AuthzTracing.ActionTag));
        Assert.Equal("project", check.GetTagItem(AuthzTracing.ResourceTypeTag));
        Assert.Equal(AuthorizationGrpcService.EngineSource, check.GetTagItem(AuthzTracing.SourceTag));
        Assert.Equal(ActivityStatusCode.Unset, check.Status);
    }

    [Fact]
    public async Task Start_WithAnOtlpEndpointThatIsNotAUrl_FailsNamingTheKey()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var settings = new Dictionary<string, string?>
        {
            ["Authz:Storage:ConnectionString"] = database.ConnectionString,
            [AuthzOptions.OtlpEndpointKey] = "collector:4317",
        };

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains(AuthzOptions.OtlpEndpointKey, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_WithAnOtlpEndpoint_RegistersATracerProvider_AndWithoutOne_None()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var settings = new Dictionary<string, string?> { ["Authz:Storage:ConnectionString"] = database.ConnectionString };

        // Built, never started: the exporter has nothing to send and dials nobody.
        await using (var untraced = await ServerFixture.BuildServerAsync(new LogCapture(), settings))
        {
            Assert.Null(untraced.Services.GetService<TracerProvider>());
        }

        settings[AuthzOptions.OtlpEndpointKey] = "http://127.0.0.1:4317";
        await using var traced = await ServerFixture.BuildServerAsync(new LogCapture(), settings);
        Assert.NotNull(traced.Services.GetService<TracerProvider>());
    }
}
