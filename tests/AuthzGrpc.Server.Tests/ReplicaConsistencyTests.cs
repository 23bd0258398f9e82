using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using Xunit.Abstractions;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Two servers (replicas) on one database: revision tokens mean the same on both. A write through A returns a
/// revision; a check through B at that revision (<c>at_least</c>) or <c>fully_consistent</c> sees it; without a token
/// B converges by polling; Watch on B streams the change log and then what A writes.
/// </summary>
public sealed class ReplicaConsistencyTests(ITestOutputHelper output)
{
    private const string Grant = "project:storefront#viewer@user:zoe";
    private const string NoPoll = "3600000";

    private static readonly CheckRequest ZoeViewsStorefront = Check("user:zoe", "view", "project:storefront");

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AtLeastToken_GrantsAndRevokesThroughA_CheckedOnB_NeverShowsRevokedAccess(string provider)
    {
        const int Trials = 200;
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        // B never polls: only the token can bring A's writes to it.
        await using var b = await StoreServer.StartAsync(database, Settings(NoPoll));

        var staleWithoutToken = 0;
        for (var trial = 0; trial < Trials; trial++)
        {
            var grant = trial % 2 == 0;
            var written = await a.Relationships.WriteRelationshipsAsync(Write(Update(grant ? Operation.Touch : Operation.Delete, Grant)));

            var fast = await b.Authorization.CheckAsync(WithConsistency(ZoeViewsStorefront, new Consistency { MinimizeLatency = true }));
            var atToken = await b.Authorization.CheckAsync(WithConsistency(ZoeViewsStorefront, new Consistency { AtLeast = written.Revision }));

            Assert.Equal(grant ? Decision.Allowed : Decision.Denied, atToken.Decision);
            Assert.True(Revision(atToken.Revision) >= Revision(written.Revision), $"answered at {atToken.Revision}, token {written.Revision}");
            if (fast.Decision != atToken.Decision)
            {
                staleWithoutToken++;
            }
        }

        output.WriteLine($"{provider}: {Trials} trials, 0 revoked accesses seen at the token; {staleWithoutToken} checks without a token were stale");
        a.AssertNoErrors();
        b.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task FullyConsistent_OnOtherReplica_AnswersAtTheNewestRevision(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        await using var b = await StoreServer.StartAsync(database, Settings(NoPoll));

        var written = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, Grant)));
        var stale = await b.Authorization.CheckAsync(ZoeViewsStorefront);
        var fresh = await b.Authorization.CheckAsync(WithConsistency(ZoeViewsStorefront, new Consistency { FullyConsistent = true }));

        Assert.Equal(Decision.Denied, stale.Decision);
        Assert.Equal(Decision.Allowed, fresh.Decision);
        Assert.Equal(written.Revision, fresh.Revision);
        b.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AtLeastToken_AppliesToEveryReadOfTheOtherReplica(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        await using var b = await StoreServer.StartAsync(database, Settings(NoPoll));

        var first = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:storefront#viewer@user:zoe")));
        var token = new Consistency { AtLeast = first.Revision };
        var batch = new BatchCheckRequest { Items = { ZoeViewsStorefront }, Consistency = token };
        Assert.Equal(Decision.Allowed, (await b.Authorization.BatchCheckAsync(batch)).Results.Single().Decision);

        var second = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:storefront#viewer@user:yuri")));
        var explain = Explain("user:yuri", "view", "project:storefront");
        explain.Consistency = new Consistency { AtLeast = second.Revision };
        Assert.Equal(Decision.Allowed, (await b.Authorization.ExplainAsync(explain)).Decision);

        var third = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:checkout#viewer@user:zoe")));
        using (var resources = b.Authorization.LookupResources(new LookupResourcesRequest
        {
            Subject = Subject("user:zoe"), Action = "view", ResourceType = "project", Consistency = new Consistency { AtLeast = third.Revision },
        }))
        {
            var found = new List<string>();
            await foreach (var item in resources.ResponseStream.ReadAllAsync())
            {
                found.Add(Text(item.Resource));
                Assert.True(Revision(item.Revision) >= Revision(third.Revision));
            }

            Assert.Contains("project:checkout", found);
        }

        var fourth = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:checkout#viewer@user:xena")));
        using var subjects = b.Authorization.LookupSubjects(new LookupSubjectsRequest
        {
            Resource = Object("project:checkout"), Action = "view", SubjectType = "user", Consistency = new Consistency { AtLeast = fourth.Revision },
        });
        var users = new List<string>();
        await foreach (var item in subjects.ResponseStream.ReadAllAsync())
        {
            users.Add(Text(item.Subject));
        }

        Assert.Contains("user:xena", users);
        b.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AtLeastToken_AfterSchemaWriteOnOtherReplica_RebuildsTheEngine(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        await using var b = await StoreServer.StartAsync(database, Settings(NoPoll));

        var schema = (await a.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema
            + "\ndefinition ticket {\n    relation reporter: user\n    permission view = reporter\n}\n";
        await a.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = schema });
        var written = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "ticket:t1#reporter@user:alice")));

        var check = WithConsistency(Check("user:alice", "view", "ticket:t1"), new Consistency { AtLeast = written.Revision });
        var answer = await b.Authorization.CheckAsync(check);

        Assert.Equal(Decision.Allowed, answer.Decision);
        Assert.Equal(written.Revision, answer.Revision);
        Assert.Equal(schema, (await b.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema);
        b.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WriteOnReplicaBehind_AppliesTheOtherReplicasRevisionsFirst(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database, Settings(NoPoll));
        await using var b = await StoreServer.StartAsync(database, Settings(NoPoll));

        var first = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, Grant)));
        var second = await b.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:checkout#viewer@user:zoe")));

        Assert.Equal(Revision(first.Revision) + 1, Revision(second.Revision));
        var answer = await b.Authorization.CheckAsync(ZoeViewsStorefront);
        Assert.Equal(Decision.Allowed, answer.Decision);
        Assert.Equal(second.Revision, answer.Revision);

        // And A, behind B now, applies B's revision before its own next one.
        var third = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Delete, Grant)));
        Assert.Equal(Decision.Allowed, (await a.Authorization.CheckAsync(Check("user:zoe", "view", "project:checkout"))).Decision);
        Assert.Equal(third.Revision, (await a.Authorization.CheckAsync(ZoeViewsStorefront)).Revision);
        a.AssertNoErrors();
        b.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WithoutToken_OtherReplica_ConvergesWithinThePollInterval(string provider)
    {
        const int PollMilliseconds = 200;
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        await using var b = await StoreServer.StartAsync(database, Settings(PollMilliseconds.ToString(CultureInfo.InvariantCulture)));

        var delays = new List<double>();
        for (var trial = 0; trial < 5; trial++)
        {
            var grant = trial % 2 == 0;
            var written = await a.Relationships.WriteRelationshipsAsync(Write(Update(grant ? Operation.Touch : Operation.Delete, Grant)));
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var answer = await b.Authorization.CheckAsync(ZoeViewsStorefront);
                if (Revision(answer.Revision) >= Revision(written.Revision))
                {
                    Assert.Equal(grant ? Decision.Allowed : Decision.Denied, answer.Decision);
                    break;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"B still at {answer.Revision} after {clock.Elapsed}");
                await Task.Delay(10);
            }

            delays.Add(clock.Elapsed.TotalMilliseconds);
        }

        output.WriteLine($"{provider}: converged after {string.Join(", ", delays.Select(d => $"{d:F0} ms"))} (poll {PollMilliseconds} ms)");
        // A poll interval plus the catch-up itself; generous for a loaded machine.
        Assert.All(delays, d => Assert.True(d < (PollMilliseconds * 5) + 2000, $"{d} ms"));
        b.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Watch_FromZero_StreamsTheChangeLog_ThenWhatTheOtherReplicaWrites(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        await using var b = await StoreServer.StartAsync(database, Settings("200"));
        await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, Grant), Update(Operation.Delete, "organization:northwind#viewer@user:victor")));
        var log = await b.Store.Model.ReadChangesAsync(0);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = b.Authorization.Watch(new WatchRequest { AfterRevision = "0" }, cancellationToken: timeout.Token);
        foreach (var expected in log)
        {
            Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
            var message = watch.ResponseStream.Current;
            Assert.Equal(expected.Revision.ToString(CultureInfo.InvariantCulture), message.Revision);
            Assert.Equal(
                expected.Changes.Select(c => $"{c.Operation}:{c.Relationship}"),
                message.Updates.Select(u => $"{(u.Operation == Operation.Delete ? "Delete" : "Touch")}:{Text(u.Relationship)}"));
        }

        var written = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:checkout#viewer@user:zoe")));
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        var next = watch.ResponseStream.Current;
        Assert.Equal(written.Revision, next.Revision);
        Assert.Equal("project:checkout#viewer@user:zoe", Text(next.Updates.Single().Relationship));
        Assert.Equal(Operation.Touch, next.Updates.Single().Operation);

        // A write through B itself wakes the stream too.
        var own = await b.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Delete, "project:checkout#viewer@user:zoe")));
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(own.Revision, watch.ResponseStream.Current.Revision);
        Assert.Equal(Operation.Delete, watch.ResponseStream.Current.Updates.Single().Operation);

        // The client going away ends the call without an error on the server.
        watch.Dispose();
        await Task.Delay(200);
        b.AssertNoErrors();
    }

    [Fact]
    public async Task Watch_WithACheckOrManagementKey_IsPermissionDenied()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);

        foreach (var kind in new[] { KeyKind.Check, KeyKind.Management })
        {
            var client = new AuthorizationService.AuthorizationServiceClient(await server.ChannelForAsync("user:olivia", kind));
            using var watch = client.Watch(new WatchRequest());
            var error = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
            Assert.Contains("needs an admin key", error.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Watch_ServerStopping_EndsTheOpenStream()
    {
        await using var database = TestDatabase.Create("sqlite");
        var server = await StoreServer.StartAsync(database);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // A channel of its own: disposing the server disposes its channel (and the calls on it).
        using var channel = server.NewChannel();
        using var watch = new AuthorizationService.AuthorizationServiceClient(channel).Watch(new WatchRequest(), cancellationToken: timeout.Token);
        await watch.ResponseHeadersAsync;

        var clock = Stopwatch.StartNew();
        await server.DisposeAsync();

        Assert.False(await watch.ResponseStream.MoveNext(timeout.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {clock.Elapsed}");
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Watch_EmptyAfterRevision_StartsFromNow(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        await using var b = await StoreServer.StartAsync(database, Settings("200"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = b.Authorization.Watch(new WatchRequest(), cancellationToken: timeout.Token);
        // The server sends the headers once it has fixed the revision the stream starts after.
        await watch.ResponseHeadersAsync;
        var written = await a.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, Grant)));

        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(written.Revision, watch.ResponseStream.Current.Revision);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData(" 1")]
    [InlineData("+1")]
    [InlineData("99999999999999999999999")]
    [InlineData("")]
    public async Task MalformedToken_IsInvalidArgument(string token)
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var consistency = new Consistency { AtLeast = token };

        var check = await Assert.ThrowsAsync<RpcException>(() => server.Authorization.CheckAsync(WithConsistency(ZoeViewsStorefront, consistency)).ResponseAsync);
        var batch = await Assert.ThrowsAsync<RpcException>(() => server.Authorization.BatchCheckAsync(
            new BatchCheckRequest { Items = { ZoeViewsStorefront }, Consistency = consistency }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, check.StatusCode);
        Assert.Contains("consistency.at_least", check.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, batch.StatusCode);
        if (token.Length > 0)
        {
            using var watch = server.Authorization.Watch(new WatchRequest { AfterRevision = token });
            var error = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        }
    }

    [Fact]
    public async Task TokenNewerThanTheStore_IsFailedPrecondition()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);

        var check = await Assert.ThrowsAsync<RpcException>(() => server.Authorization.CheckAsync(
            WithConsistency(ZoeViewsStorefront, new Consistency { AtLeast = "1000" })).ResponseAsync);
        using var watch = server.Authorization.Watch(new WatchRequest { AfterRevision = "1000" });
        var error = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.FailedPrecondition, check.StatusCode);
        Assert.Contains("revision 1000 is not committed", check.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        server.AssertNoErrors();
    }

    private static Dictionary<string, string?> Settings(string pollMilliseconds) =>
        new() { ["Authz:SyncIntervalMilliseconds"] = pollMilliseconds };

    private static long Revision(string text) => long.Parse(text, CultureInfo.InvariantCulture);
}
