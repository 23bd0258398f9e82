using AuthzGrpc.Core.Validation;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// A check replica (<c>Authz:Role=check</c>) beside a full replica on one database, with no Redis: every check is
/// answered from records read from the database. It answers what the full replica answers, sees a write at its
/// token, follows a schema change, refuses every call it does not serve (UNIMPLEMENTED, changing nothing) and refuses
/// to start on a database no full replica has created. The shared graph's path is covered on a Redis Cluster by
/// <see cref="RedisClusterTests"/>.
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
        var seed = Directory.CreateTempSubdirectory("authz-check-replica-");
        try
        {
            var schema = Path.Combine(seed.FullName, "model.zed");
            var relationships = Path.Combine(seed.FullName, "model.relationships");
            await File.WriteAllTextAsync(schema, validation.SchemaText);
            await File.WriteAllLinesAsync(relationships, validation.Relationships.Select(r => r.ToString()));
            await using var database = TestDatabase.Create(provider);
            await using var full = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:SchemaFile"] = schema, ["Authz:RelationshipsFile"] = relationships });
            await using var checks = await StoreServer.StartAsync(database, CheckRole);
            await AnswersAsFullReplicaAsync(validation, full, checks);
        }
        finally
        {
            seed.Delete(recursive: true);
        }
    }

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
}
