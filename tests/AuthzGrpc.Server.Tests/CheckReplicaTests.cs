using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// A check replica (<c>Authz:Role=check</c>) beside a full replica on one database, with no Redis: every check is
/// answered from records read from the database. It answers what the full replica answers, sees a write at its
/// token, follows a schema change, refuses every call it does not serve (UNIMPLEMENTED, changing nothing) and refuses
/// to start on a database no full replica has created. Given a full replica's address (<c>Authz:FullReplicaAddress</c>),
/// it answers what needs the whole model as that full replica does, by forwarding: management and caveated checks,
/// Explain, the lookups, Watch, WhoAmI; it authenticates the caller first and sends its key alone; a full replica that
/// is gone or failing answers UNAVAILABLE naming it, one too slow DEADLINE_EXCEEDED, never an allow; its refusals pass
/// through. The shared graph's path is covered on a Redis Cluster by <see cref="RedisClusterTests"/>.
/// </summary>
public sealed class CheckReplicaTests
{
    private static readonly Dictionary<string, string?> CheckRole = new() { [AuthzOptions.RoleKey] = "check" };

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task ACheckReplica_AnswersEveryAssertion_AsTheFullReplicaDoes_AndSeesAWriteAtItsToken(string provider)
    {
        // Seeded with default.yaml's own relationships, which its assertions are about.
        var validation = ValidationFile.Load(ServerFixture.ModelPath("default.yaml"));
        var seed = await SeedFilesAsync(validation);
        try
        {
            await using var database = TestDatabase.Create(provider);
            await using var full = await StoreServer.StartAsync(database, SeededFrom(seed));
            await using var checks = await StoreServer.StartAsync(database, CheckRole);
            await AnswersAsFullReplicaAsync(validation, full, checks);
        }
        finally
        {
            seed.Delete(recursive: true);
        }
    }

    // A folder holding the validation file's schema and relationships as files, for a full replica to seed from.
    private static async Task<DirectoryInfo> SeedFilesAsync(ValidationFile validation)
    {
        var seed = Directory.CreateTempSubdirectory("authz-check-replica-");
        await File.WriteAllTextAsync(Path.Combine(seed.FullName, "model.zed"), validation.SchemaText);
        await File.WriteAllLinesAsync(Path.Combine(seed.FullName, "model.relationships"), validation.Relationships.Select(r => r.ToString()));
        return seed;
    }

    // A full replica's settings to seed a new database from the files of SeedFilesAsync.
    private static Dictionary<string, string?> SeededFrom(DirectoryInfo seed) => new()
    {
        ["Authz:SchemaFile"] = Path.Combine(seed.FullName, "model.zed"),
        ["Authz:RelationshipsFile"] = Path.Combine(seed.FullName, "model.relationships"),
    };

    private static async Task AnswersAsFullReplicaAsync(ValidationFile validation, StoreServer full, StoreServer checks)
    {
        var batch = new BatchCheckRequest();
        foreach (var assertion in validation.Assertions.Where(a => a.Context is null))
        {
            var request = Check(assertion.Subject.ToString(), assertion.Permission, assertion.Resource.ToString());
            var answer = await checks.Authorization.CheckAsync(request);
            Assert.True((answer.Decision == Decision.Allowed) == assertion.Expected, $"{assertion}: the check replica answered {answer.Decision}");
            batch.Items.Add(request);
        }

        // A batch is answered at one snapshot, item for item as the full replica answers it.
        var fromCheckReplica = await checks.Authorization.BatchCheckAsync(batch);
        var fromFull = await full.Authorization.BatchCheckAsync(batch);
        Assert.Equal(fromFull.Results.Select(r => r.Decision), fromCheckReplica.Results.Select(r => r.Decision));
        Assert.Equal(await full.RevisionAsync(), long.Parse(fromCheckReplica.Revision, System.Globalization.CultureInfo.InvariantCulture));

        // Written through the full replica, checked at the write's token (and fully consistent) on the check replica.
        var zoeViewsWeb = Check("user:zoe", "view", "project:web");
        for (var trial = 0; trial < 5; trial++)
        {
            var granted = await full.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:web#viewer@user:zoe")));
            Assert.Equal(Decision.Allowed, (await checks.Authorization.CheckAsync(WithConsistency(zoeViewsWeb, new Consistency { AtLeast = granted.Revision }))).Decision);
            await full.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Delete, "project:web#viewer@user:zoe")));
            Assert.Equal(Decision.Denied, (await checks.Authorization.CheckAsync(WithConsistency(zoeViewsWeb, new Consistency { FullyConsistent = true }))).Decision);
        }

        checks.AssertNoErrors();
    }

    [Fact]
    public async Task ACheckReplica_FollowsASchemaChange_AndRefusesChecksUnderASchemaWithCaveats()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        await using var checks = await StoreServer.StartAsync(database, CheckRole);
        var schema = (await full.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema;

        // A type the check replica started without, used at the token of the write that stored its first relationship.
        await full.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = schema + "\ndefinition probe {\n    relation owner: user\n    permission own = owner\n}\n" });
        var written = await full.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "probe:p1#owner@user:zoe")));
        var answer = await checks.Authorization.CheckAsync(WithConsistency(Check("user:zoe", "own", "probe:p1"), new Consistency { AtLeast = written.Revision }));
        Assert.Equal(Decision.Allowed, answer.Decision);

        // Records carry no caveats: under a schema that has some, the check replica sends callers to a full replica.
        await full.Schema.WriteSchemaAsync(new WriteSchemaRequest
        {
            Schema = schema + "\ncaveat small(n int) {\n    n < 10\n}\n\ndefinition probe {\n    relation owner: user | user with small\n    permission own = owner\n}\n",
        });
        var refused = await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.CheckAsync(Check("user:zoe", "own", "probe:p1")).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
        Assert.Contains("caveats", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(Decision.Allowed, (await full.Authorization.CheckAsync(Check("user:zoe", "own", "probe:p1"))).Decision);
    }

    [Fact]
    public async Task EveryCallACheckReplicaDoesNotServe_IsUnimplemented_WithOrWithoutAKey_AndChangesNothing()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        await using var checks = await StoreServer.StartAsync(database, CheckRole);
        var before = await full.RevisionAsync();
        var auditBefore = await full.Store.Audit.NewestIdAsync();
        using var anonymous = checks.ChannelWith(null);
        var served = new[] { "Check", "BatchCheck" };
        var walked = 0;
        foreach (var method in RpcCatalog.All.Where(m => !RpcCatalog.IsPublic(m) && !(m.Service.Name == "AuthorizationService" && served.Contains(m.Name))))
        {
            foreach (var channel in new[] { checks.Channel, anonymous })
            {
                var (code, _) = await RpcCatalog.CallAsync(channel, method, []);
                Assert.True(code == StatusCode.Unimplemented, $"{method.FullName}: {code}");
            }

            walked++;
        }

        // Management checks — a Check, or a BatchCheck item, with a context — need the whole model too.
        var judged = Check("user:admin", "grant", "project:web");
        judged.Context = new CheckContext { TargetRole = "viewer", TargetSubject = Subject("user:zoe") };
        var refused = await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.CheckAsync(judged).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
        var batch = new BatchCheckRequest { Items = { judged } };
        refused = await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.BatchCheckAsync(batch).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
        Assert.StartsWith("items[0]: ", refused.Status.Detail, StringComparison.Ordinal);

        // What it does serve keeps the server's statuses: a token from the future, a name the schema lacks, no key.
        var future = await Assert.ThrowsAsync<RpcException>(
            () => checks.Authorization.CheckAsync(WithConsistency(Check("user:zoe", "view", "project:web"), new Consistency { AtLeast = (before + 100).ToString(System.Globalization.CultureInfo.InvariantCulture) })).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, future.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.CheckAsync(Check("user:zoe", "view", "nosuchtype:x")).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(
            () => new AuthorizationService.AuthorizationServiceClient(anonymous).CheckAsync(Check("user:zoe", "view", "project:web")).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);

        Assert.True(walked >= 30, $"only {walked} methods walked");
        Assert.Equal(before, await full.RevisionAsync());
        Assert.Equal(auditBefore, await full.Store.Audit.NewestIdAsync());
        checks.AssertNoErrors();
    }

    [Fact]
    public async Task ACheckReplica_RefusesToStart_OnADatabaseNoFullReplicaHasCreated_AndCreatesNothing()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var failure = await Assert.ThrowsAsync<ModelLoadException>(() => StoreServer.StartAsync(database, CheckRole));
        Assert.Contains("start a full replica (Authz:Role=full) on it first", failure.Message, StringComparison.Ordinal);

        // Nothing was migrated: a full replica started now creates and seeds the database as on a first start.
        await using var store = database.CreateStore();
        Assert.NotEmpty(await store.Database.PendingMigrationsAsync());
    }

    // The AuthorizationService methods a forwarding check replica sends to the full replica whatever the request.
    private static readonly string[] AlwaysForwarded = ["Explain", "LookupResources", "LookupSubjects", "Watch", "WhoAmI"];

    private static Dictionary<string, string?> ForwardingTo(Uri fullReplica) => new()
    {
        [AuthzOptions.RoleKey] = "check",
        [AuthzOptions.FullReplicaAddressKey] = fullReplica.ToString(),
    };

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task AForwardingCheckReplica_AnswersWhatNeedsTheWholeModel_AsTheFullReplicaDoes(string provider)
    {
        var validation = ValidationFile.Load(ServerFixture.ModelPath("default.yaml"));
        var seed = await SeedFilesAsync(validation);
        try
        {
            await using var database = TestDatabase.Create(provider);
            await using var full = await StoreServer.StartAsync(database, SeededFrom(seed));
            await using var checks = await StoreServer.StartAsync(database, ForwardingTo(full.Address));

            // Every management case's check (R25), through the check replica and directly: the same verdicts.
            var verdicts = new List<Decision?>();
            foreach (var managementCase in validation.Management)
            {
                var forwarded = await ManagementCasesTests.ManagementCheckAsync(checks.Authorization, managementCase.Caller, managementCase.Operation);
                var direct = await ManagementCasesTests.ManagementCheckAsync(full.Authorization, managementCase.Caller, managementCase.Operation);
                Assert.True(forwarded == direct, $"{managementCase}: the check replica answered {forwarded}, the full replica {direct}");
                verdicts.Add(forwarded);
            }

            Assert.Contains(Decision.Allowed, verdicts);
            Assert.Contains(Decision.Denied, verdicts);

            // A BatchCheck with a management item is answered whole by the full replica: the same response, item for item.
            var assertion = validation.Assertions.First(a => a.Context is null);
            var managementItem = Check("user:olivia", "grant", "organization:northwind");
            managementItem.Context = new CheckContext { TargetRole = "viewer", TargetSubject = Subject("user:zoe") };
            var batch = new BatchCheckRequest
            {
                Items = { Check(assertion.Subject.ToString(), assertion.Permission, assertion.Resource.ToString()), managementItem },
                Consistency = new Consistency { FullyConsistent = true },
            };
            Assert.Equal(await full.Authorization.BatchCheckAsync(batch), await checks.Authorization.BatchCheckAsync(batch));

            // Explain, the lookups and WhoAmI: the full replica's answers, its refusals too (with their details).
            var explain = Explain(assertion.Subject.ToString(), assertion.Permission, assertion.Resource.ToString());
            Assert.Equal(await full.Authorization.ExplainAsync(explain), await checks.Authorization.ExplainAsync(explain));
            var allowed = validation.Assertions.First(a => a.Context is null && a.Expected && a.Subject.Relation is null);
            var resources = new LookupResourcesRequest { Subject = Subject(allowed.Subject.ToString()), Action = allowed.Permission, ResourceType = allowed.Resource.Type };
            var resourcesThroughCheckReplica = await ReadAllAsync(checks.Authorization.LookupResources(resources));
            Assert.NotEmpty(resourcesThroughCheckReplica);
            Assert.Equal(await ReadAllAsync(full.Authorization.LookupResources(resources)), resourcesThroughCheckReplica);
            var subjects = new LookupSubjectsRequest { Resource = Object(allowed.Resource.ToString()), Action = allowed.Permission, SubjectType = allowed.Subject.Type };
            var subjectsThroughCheckReplica = await ReadAllAsync(checks.Authorization.LookupSubjects(subjects));
            Assert.NotEmpty(subjectsThroughCheckReplica);
            Assert.Equal(await ReadAllAsync(full.Authorization.LookupSubjects(subjects)), subjectsThroughCheckReplica);
            Assert.Equal(await full.Authorization.WhoAmIAsync(new WhoAmIRequest()), await checks.Authorization.WhoAmIAsync(new WhoAmIRequest()));
            var unknownType = Explain("user:olivia", "view", "nosuchtype:x");
            var refusedDirectly = await Assert.ThrowsAsync<RpcException>(() => full.Authorization.ExplainAsync(unknownType).ResponseAsync);
            var refusedForwarded = await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.ExplainAsync(unknownType).ResponseAsync);
            Assert.Equal((refusedDirectly.StatusCode, refusedDirectly.Status.Detail), (refusedForwarded.StatusCode, refusedForwarded.Status.Detail));
            Assert.Equal(refusedDirectly.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason, refusedForwarded.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);
            Assert.NotNull(refusedForwarded.GetRpcStatus()?.GetDetail<ErrorInfo>());

            // Watch streams the full replica's change log: a write through it arrives through the check replica.
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var watch = checks.Authorization.Watch(new WatchRequest { AfterRevision = (await full.RevisionAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture) }, cancellationToken: stop.Token);
            // Its headers arrive before any change does, as a Watch served directly sends them: the stream has started.
            await watch.ResponseHeadersAsync.WaitAsync(stop.Token);
            var written = await full.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "project:storefront#viewer@user:zoe")));
            Assert.True(await watch.ResponseStream.MoveNext(stop.Token));
            Assert.Equal(written.Revision, watch.ResponseStream.Current.Revision);

            // Ordinary checks are still answered here, from the database.
            var local = await checks.Authorization.CheckAsync(WithConsistency(Check("user:zoe", "view", "project:storefront"), new Consistency { AtLeast = written.Revision }));
            Assert.Equal(Decision.Allowed, local.Decision);
            checks.AssertNoErrors();
        }
        finally
        {
            seed.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AForwardingCheckReplica_SendsChecksUnderASchemaWithCaveats_ToTheFullReplica()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        await using var checks = await StoreServer.StartAsync(database, ForwardingTo(full.Address));
        var schema = (await full.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema;
        await full.Schema.WriteSchemaAsync(new WriteSchemaRequest
        {
            Schema = schema + "\ncaveat small(n int) {\n    n < 10\n}\n\ndefinition probe {\n    relation owner: user | user with small\n    permission own = owner\n}\n",
        });
        var caveated = Relationship("probe:p1#owner@user:zoe");
        caveated.OptionalCaveat = new ContextualizedCaveat { CaveatName = "small" };
        await full.Relationships.WriteRelationshipsAsync(Write(new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = caveated }));

        // Without the parameter, with a small one, with a large one: conditional, allowed, denied, as the full replica says.
        var asked = new List<CheckRequest>();
        foreach (var context in new[] { null, "{\"n\": 3}", "{\"n\": 30}" })
        {
            var request = WithConsistency(Check("user:zoe", "own", "probe:p1"), new Consistency { FullyConsistent = true });
            request.CaveatContext = context is null ? null : JsonParser.Default.Parse<Struct>(context);
            asked.Add(request);
        }

        var decisions = new List<Decision>();
        foreach (var request in asked)
        {
            var forwarded = await checks.Authorization.CheckAsync(request);
            Assert.Equal(await full.Authorization.CheckAsync(request), forwarded);
            decisions.Add(forwarded.Decision);
        }

        Assert.Equal([Decision.Conditional, Decision.Allowed, Decision.Denied], decisions);
        var batch = new BatchCheckRequest { Items = { asked }, Consistency = new Consistency { FullyConsistent = true } };
        Assert.Equal(await full.Authorization.BatchCheckAsync(batch), await checks.Authorization.BatchCheckAsync(batch));
        checks.AssertNoErrors();
    }

    [Fact]
    public async Task AForwardingCheckReplica_AuthenticatesFirst_ForwardsExactlyTheReadsItCannotAnswer_AndSendsTheCallersKeyAlone()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        await using var fake = await FakeFullReplica.StartAsync();
        await using var checks = await StoreServer.StartAsync(database, ForwardingTo(fake.Address));
        var checkKey = (await new ApiKeyService.ApiKeyServiceClient(full.Channel).CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = Subject("user:zoe"), Kind = KeyKind.Check, Description = "check-only caller",
        })).Key;
        using var anonymous = checks.ChannelWith(null);
        using var wrongKey = checks.ChannelWith("azk_testadmin01_" + new string('x', 40));
        using var checkOnly = checks.ChannelWith(checkKey);
        var before = await full.RevisionAsync();
        using var forwardedCalls = new ForwardedCallCounts(checks.Services.GetRequiredService<IMeterFactory>());

        // Every RPC of every service, with an admin key and a header of the caller's own: the other reads of
        // AuthorizationService reach the full replica (here, a fake that answers NOT_FOUND); Check and BatchCheck are
        // answered here (an empty request: INVALID_ARGUMENT, an empty batch); everything else is UNIMPLEMENTED and
        // forwarded nowhere.
        var headers = new Metadata { { "x-caller-secret", "must-not-travel" }, { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } };
        var forwardedNames = new List<string>();
        foreach (var method in RpcCatalog.All.Where(m => !RpcCatalog.IsPublic(m)))
        {
            var forwarded = method.Service.Name == "AuthorizationService" && AlwaysForwarded.Contains(method.Name);
            var path = $"/{method.Service.FullName}/{method.Name}";
            var (code, _) = await RpcCatalog.CallAsync(checks.Channel, method, [], headers: headers);
            var expected = forwarded ? StatusCode.NotFound
                : method.Service.Name == "AuthorizationService" && method.Name == "Check" ? StatusCode.InvalidArgument
                : method.Service.Name == "AuthorizationService" && method.Name == "BatchCheck" ? StatusCode.OK
                : StatusCode.Unimplemented;
            Assert.True(code == expected, $"{path}: {code}, expected {expected}");
            Assert.True(fake.Calls.Any(c => c.Path == path) == forwarded, $"{path}: forwarded {!forwarded}");
            if (forwarded)
            {
                forwardedNames.Add(method.Name);
            }

            // No key, a wrong key: refused here, before anything is forwarded.
            foreach (var channel in new[] { anonymous, wrongKey })
            {
                var (refused, _) = await RpcCatalog.CallAsync(channel, method, []);
                var expectedRefusal = method.Service.Name == "AuthorizationService" ? StatusCode.Unauthenticated : StatusCode.Unimplemented;
                Assert.True(refused == expectedRefusal, $"{path} without a valid key: {refused}, expected {expectedRefusal}");
            }
        }

        Assert.Equal(AlwaysForwarded.Order(StringComparer.Ordinal), forwardedNames.Order(StringComparer.Ordinal));
        Assert.Equal(AlwaysForwarded.Length, fake.Calls.Count);

        // What travelled: the caller's authorization header, and nothing else of the caller's; the forwarded mark.
        var transport = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "host", "content-type", "te", "user-agent", "grpc-accept-encoding", "grpc-timeout", "content-length", FullReplicaForwarder.ForwardedHeader,
        };
        foreach (var call in fake.Calls)
        {
            Assert.Equal("Bearer " + TestKeys.Admin, call.Headers.GetValueOrDefault("authorization"));
            Assert.Equal("1", call.Headers.GetValueOrDefault(FullReplicaForwarder.ForwardedHeader));
            var others = call.Headers.Keys.Where(name => !transport.Contains(name) && !string.Equals(name, "authorization", StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.True(others.Count == 0, $"{call.Path} carried {string.Join(", ", others)}");
        }

        // A management check, and a Watch by a check-only key: the first forwarded, the second refused here (admin keys only).
        var judged = Check("user:admin", "grant", "project:web");
        judged.Context = new CheckContext { TargetRole = "viewer", TargetSubject = Subject("user:zoe") };
        var calls = fake.Calls.Count;
        var notFound = await Assert.ThrowsAsync<RpcException>(() => new AuthorizationService.AuthorizationServiceClient(checkOnly).CheckAsync(judged).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("Bearer " + checkKey, fake.Calls.Last().Headers["authorization"]);
        var (watch, _) = await RpcCatalog.CallAsync(checkOnly, RpcCatalog.All.Single(m => m.FullName == "authz.v1.AuthorizationService.Watch"), []);
        Assert.Equal(StatusCode.PermissionDenied, watch);
        Assert.Equal(calls + 1, fake.Calls.Count);

        // The full replica's refusals pass through with their details; its failures, whatever they are, answer UNAVAILABLE
        // naming it; a DEADLINE_EXCEEDED of its own stays one.
        foreach (var (answered, relayed) in new[]
        {
            (StatusCode.InvalidArgument, StatusCode.InvalidArgument), (StatusCode.PermissionDenied, StatusCode.PermissionDenied),
            (StatusCode.Unauthenticated, StatusCode.Unauthenticated), (StatusCode.FailedPrecondition, StatusCode.FailedPrecondition),
            (StatusCode.ResourceExhausted, StatusCode.ResourceExhausted), (StatusCode.DeadlineExceeded, StatusCode.DeadlineExceeded),
            (StatusCode.Internal, StatusCode.Unavailable), (StatusCode.Unknown, StatusCode.Unavailable),
            (StatusCode.Cancelled, StatusCode.Unavailable), (StatusCode.Unavailable, StatusCode.Unavailable), (StatusCode.DataLoss, StatusCode.Unavailable),
        })
        {
            fake.Answer = answered;
            var error = await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.CheckAsync(judged).ResponseAsync);
            Assert.True(error.StatusCode == relayed, $"the full replica answered {answered}: the caller got {error.StatusCode} ({error.Status.Detail})");
            if (relayed == StatusCode.Unavailable)
            {
                Assert.Contains(fake.Address.ToString(), error.Status.Detail, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(FakeFullReplica.Message(answered), error.Status.Detail);
                Assert.Equal(answered.ToString(), error.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);
            }
        }

        // Failures are warned of, at most once a second: the burst above is one or two entries, not five.
        var warnings = checks.Logs.Since(0).Count(e => e.EventId.Name == "FullReplicaUnavailable");
        Assert.InRange(warnings, 1, 3);

        // Each forwarded call counted once, by method and outcome (authz.forward.calls): the fake's NOT_FOUND and the
        // relayed refusals as refused, its failures as unavailable; nothing refused here was counted. (Counted before
        // the answer is sent, so complete now; the silent full replica's call below may be counted after its caller
        // gave up, so it is left out.)
        foreach (var method in AlwaysForwarded)
        {
            Assert.Equal(1, forwardedCalls[(method, "refused")]);
        }

        Assert.Equal(1 + 5, forwardedCalls[("Check", "refused")]);
        Assert.Equal(5, forwardedCalls[("Check", "unavailable")]);
        Assert.Equal(1, forwardedCalls[("Check", "deadline_exceeded")]);
        Assert.Equal(0, forwardedCalls[("Check", "ok")] + forwardedCalls[("BatchCheck", "ok")]);
        Assert.True(forwardedCalls.Total == AlwaysForwarded.Length + 12, forwardedCalls.ToString());

        // A full replica that does not answer: the caller's deadline, DEADLINE_EXCEEDED, soon after it passes.
        fake.Hang = true;
        var clock = Stopwatch.StartNew();
        var late = await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.CheckAsync(judged, deadline: DateTime.UtcNow.AddSeconds(1)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, late.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"answered after {clock.Elapsed}");

        Assert.Equal(before, await full.RevisionAsync());
        checks.AssertNoErrors();
    }

    // The authz.forward.calls measurements of one server (other tests' servers record under the same meter name).
    private sealed class ForwardedCallCounts : IDisposable
    {
        private readonly ConcurrentDictionary<(string Method, string Outcome), long> _counts = new();
        private readonly MeterListener _listener;

        public ForwardedCallCounts(IMeterFactory meters)
        {
            _listener = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "authz.forward.calls")
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? method = null, outcome = null;
                foreach (var (name, tag) in tags)
                {
                    (method, outcome) = name switch { "method" => (tag as string, outcome), "outcome" => (method, tag as string), _ => (method, outcome) };
                }

                _counts.AddOrUpdate((method ?? "?", outcome ?? "?"), value, (_, count) => count + value);
            });
            _listener.Start();
        }

        public long this[(string Method, string Outcome) key] => _counts.GetValueOrDefault(key);

        public long Total => _counts.Values.Sum();

        public override string ToString() => string.Join(", ", _counts.OrderBy(c => c.Key).Select(c => $"{c.Key.Method} {c.Key.Outcome}: {c.Value}"));

        public void Dispose() => _listener.Dispose();
    }

    [Theory]
    [InlineData(KeyKind.Check)]
    [InlineData(KeyKind.Management)]
    public async Task AForwardingCheckReplica_DecidesAKeyKindsAuthority_OnTheRoutedMethod_BeforeForwardingAnything(KeyKind kind)
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        await using var fake = await FakeFullReplica.StartAsync();
        await using var checks = await StoreServer.StartAsync(database, ForwardingTo(fake.Address));
        var key = (await new ApiKeyService.ApiKeyServiceClient(full.Channel).CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = Subject("user:zoe"), Kind = kind, Description = $"{kind} caller",
        })).Key;
        using var channel = checks.ChannelWith(key);

        // Every RPC: the other services are not served here at all; Watch is for admin keys only, refused here; Check and
        // BatchCheck are answered here; the other reads reach the full replica (the fake answers NOT_FOUND), with this key.
        foreach (var method in RpcCatalog.All.Where(m => !RpcCatalog.IsPublic(m)))
        {
            var path = $"/{method.Service.FullName}/{method.Name}";
            var expected = method.Service.Name != "AuthorizationService" ? StatusCode.Unimplemented
                : method.Name switch
                {
                    "Check" => StatusCode.InvalidArgument,
                    "BatchCheck" => StatusCode.OK,
                    "Watch" => StatusCode.PermissionDenied,
                    _ => StatusCode.NotFound,
                };
            var calls = fake.Calls.Count;

            var (code, _) = await RpcCatalog.CallAsync(channel, method, []);

            Assert.True(code == expected, $"{path} with a {kind} key: {code}, expected {expected}");
            var forwarded = fake.Calls.Count - calls;
            Assert.True(forwarded == (expected == StatusCode.NotFound ? 1 : 0), $"{path} with a {kind} key: forwarded {forwarded} times");
            if (forwarded == 1)
            {
                Assert.Equal("Bearer " + key, fake.Calls.Last().Headers["authorization"]);
            }
        }

        checks.AssertNoErrors();
    }

    [Fact]
    public async Task AForwardingCheckReplica_WhoseFullReplicaStopped_AnswersUnavailable_NamingIt_AndStillAnswersChecksItHolds()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var full = await StoreServer.StartAsync(database);
        await using var checks = await StoreServer.StartAsync(database, ForwardingTo(full.Address));
        using var forwardedCalls = new ForwardedCallCounts(checks.Services.GetRequiredService<IMeterFactory>());
        var judged = Check("user:admin", "grant", "project:web");
        judged.Context = new CheckContext { TargetRole = "viewer", TargetSubject = Subject("user:zoe") };
        Assert.NotEqual(Decision.Unspecified, (await checks.Authorization.CheckAsync(judged)).Decision);
        var address = full.Address;
        await full.DisposeAsync();

        // Its port is closed now: the connection is refused, answered at once with UNAVAILABLE, well before the deadline.
        var deadline = DateTime.UtcNow.AddMinutes(1);
        var clock = Stopwatch.StartNew();
        var failures = new List<RpcException>
        {
            await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.CheckAsync(judged, deadline: deadline).ResponseAsync),
            await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.BatchCheckAsync(new BatchCheckRequest { Items = { judged } }, deadline: deadline).ResponseAsync),
            await Assert.ThrowsAsync<RpcException>(() => checks.Authorization.ExplainAsync(Explain("user:zoe", "view", "project:web"), deadline: deadline).ResponseAsync),
            await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(checks.Authorization.LookupResources(LookupResources("user:zoe|view|project"), deadline: deadline))),
        };
        foreach (var failure in failures)
        {
            Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
            Assert.Contains($"the full replica at {address.GetLeftPart(UriPartial.Authority)}", failure.Status.Detail, StringComparison.Ordinal);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"answered after {clock.Elapsed}");
        Assert.True(
            (forwardedCalls[("Check", "ok")], forwardedCalls[("Check", "unavailable")], forwardedCalls[("BatchCheck", "unavailable")],
                forwardedCalls[("Explain", "unavailable")], forwardedCalls[("LookupResources", "unavailable")], forwardedCalls.Total) == (1, 1, 1, 1, 1, 5),
            forwardedCalls.ToString());

        // What it answers itself it still answers.
        Assert.Equal(Decision.Denied, (await checks.Authorization.CheckAsync(Check("user:zoe", "view", "project:web"))).Decision);
        checks.AssertNoErrors();
    }

    [Fact]
    public async Task ACheckReplicaForwardingToAnother_IsRefusedAtOnce_AndACallerCannotMakeOneForwardTwice()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        await using var second = await StoreServer.StartAsync(database, ForwardingTo(full.Address));
        await using var first = await StoreServer.StartAsync(database, ForwardingTo(second.Address));
        var explain = Explain("user:zoe", "view", "project:web");

        // One hop works; a second is refused by the check replica it reaches, and the first relays the refusal.
        Assert.NotNull(await second.Authorization.ExplainAsync(explain));
        var chained = await Assert.ThrowsAsync<RpcException>(() => first.Authorization.ExplainAsync(explain, deadline: DateTime.UtcNow.AddMinutes(1)).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, chained.StatusCode);
        Assert.Contains("must name a full replica", chained.Status.Detail, StringComparison.Ordinal);

        // A caller sending the mark itself has only its own forwarded calls refused; what the replica answers itself it answers.
        var marked = new Metadata { { FullReplicaForwarder.ForwardedHeader, "1" } };
        var refused = await Assert.ThrowsAsync<RpcException>(() => second.Authorization.ExplainAsync(explain, marked).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Equal(Decision.Denied, (await second.Authorization.CheckAsync(Check("user:zoe", "view", "project:web"), marked)).Decision);
        first.AssertNoErrors();
        second.AssertNoErrors();
    }

    [Fact]
    public async Task AForwardedWatch_EndsCleanly_WhenTheCheckReplicaStops()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        var checks = await StoreServer.StartAsync(database, ForwardingTo(full.Address));
        using var channel = checks.NewChannel();
        using var watch = new AuthorizationService.AuthorizationServiceClient(channel).Watch(new WatchRequest());
        await watch.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(30));

        // As a Watch served here: the stream ends without an error (the client resumes from its last revision), and the
        // server does not wait out its shutdown timeout for it.
        var clock = Stopwatch.StartNew();
        var stopped = checks.DisposeAsync().AsTask();
        Assert.False(await watch.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        await stopped.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stopped after {clock.Elapsed}");
    }

    [Fact]
    public async Task FullReplicaAddress_OnAFullReplica_StopsTheStart()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var failure = await Assert.ThrowsAsync<ModelLoadException>(
            () => StoreServer.StartAsync(database, new Dictionary<string, string?> { [AuthzOptions.FullReplicaAddressKey] = "http://127.0.0.1:50051" }));
        Assert.Contains("Authz:FullReplicaAddress is set on a full replica", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("127.0.0.1:50051")]
    [InlineData("ftp://127.0.0.1:50051")]
    [InlineData("http://127.0.0.1:50051/authz")]
    [InlineData("http://user:secret@127.0.0.1:50051")]
    public async Task AnUnusableFullReplicaAddress_OnACheckReplica_StopsTheStart(string address)
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var full = await StoreServer.StartAsync(database);
        var failure = await Assert.ThrowsAsync<ModelLoadException>(
            () => StoreServer.StartAsync(database, new Dictionary<string, string?> { [AuthzOptions.RoleKey] = "check", [AuthzOptions.FullReplicaAddressKey] = address }));
        Assert.Contains($"Authz:FullReplicaAddress '{address}' is not a full replica's gRPC address", failure.Message, StringComparison.Ordinal);
    }

    private static async Task<List<T>> ReadAllAsync<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            var all = new List<T>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                all.Add(call.ResponseStream.Current);
            }

            return all;
        }
    }

    /// <summary>
    /// A stand-in full replica on loopback (h2c): records each call's path and headers and answers it with
    /// <see cref="Answer"/> as a trailers-only response carrying an ErrorInfo detail, or, with <see cref="Hang"/>, never.
    /// </summary>
    private sealed class FakeFullReplica : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeFullReplica(WebApplication app) => _app = app;

        public Uri Address { get; private set; } = null!;

        public ConcurrentQueue<(string Path, Dictionary<string, string> Headers)> Calls { get; } = new();

        public volatile bool Hang;

        public StatusCode Answer { get; set; } = StatusCode.NotFound;

        public static string Message(StatusCode code) => $"the fake full replica answers {code}";

        public static async Task<FakeFullReplica> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
            var app = builder.Build();
            var fake = new FakeFullReplica(app);
            app.Run(fake.HandleAsync);
            await app.StartAsync();
            fake.Address = new Uri(app.Urls.Single());
            return fake;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private async Task HandleAsync(HttpContext context)
        {
            Calls.Enqueue((context.Request.Path.Value ?? string.Empty, context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString())));
            if (Hang)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                return;
            }

            var code = Answer;
            var details = new Google.Rpc.Status
            {
                Code = (int)code,
                Message = Message(code),
                Details = { Any.Pack(new ErrorInfo { Reason = code.ToString(), Domain = "fake" }) },
            };
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(Message(code));
            context.Response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(details.ToByteArray()).TrimEnd('=');
        }
    }
}
