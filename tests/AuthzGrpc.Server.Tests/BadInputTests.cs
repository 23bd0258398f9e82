using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Malformed and refused writes and reads of the Schema and Relationship services, and bad pages of the lookups,
/// against a server with the default model and demo data (one per provider, shared by the cases): each gets its precise status with a message naming
/// the problem — never UNKNOWN — and the stored data is unchanged afterwards.
/// </summary>
public sealed class BadInputTests(BadInputTests.Servers servers) : IClassFixture<BadInputTests.Servers>
{
    private static readonly string TenKilobytes = new('a', 10 * 1024);

    // Declared before Cases, whose initializer reads them.
    private static readonly LookupResourcesRequest OliviasProjects = LookupResources("user:olivia|view|project");
    private static readonly LookupSubjectsRequest StorefrontViewers = LookupSubjects("project:storefront|view|user");

    /// <summary>A malformed or refused call: what it sends, the status it must get, a fragment of the message.</summary>
    private sealed record Case(Func<StoreServer, Task> Call, StatusCode Status, string Fragment);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // ---- WriteSchema ----
        ["schema: empty"] = Schema("", StatusCode.InvalidArgument, "schema: is required"),
        ["schema: syntax error"] = Schema("definition user {\n    relation owner user\n}\n", StatusCode.InvalidArgument, "line 2, column"),
        ["schema: unknown subject type"] = Schema("definition doc {\n    relation viewer: usr\n}\n", StatusCode.InvalidArgument, "line 2"),
        ["schema: too large"] = Schema("definition user {}\n" + new string(' ', (1 << 20) + 1), StatusCode.InvalidArgument, "the limit is"),
        ["schema: orphans the demo data"] = Schema("definition user {}\n", StatusCode.FailedPrecondition, "orphan"),

        // ---- WriteRelationships: shape ----
        ["write: no updates"] = Writes(new WriteRelationshipsRequest(), StatusCode.InvalidArgument, "updates: is required"),
        ["write: operation unspecified"] = Writes(Write(Update(Operation.Unspecified, "project:storefront#viewer@user:zoe")), StatusCode.InvalidArgument, "updates[0].operation"),
        ["write: relationship missing"] = Writes(Write(new RelationshipUpdate { Operation = Operation.Touch }), StatusCode.InvalidArgument, "updates[0].relationship: is required"),
        ["write: resource missing"] = Writes(Write(With(Update(Operation.Touch, "project:storefront#viewer@user:zoe"), u => u.Relationship.Resource = null)), StatusCode.InvalidArgument, "updates[0].relationship.resource: is required"),
        ["write: empty resource id"] = Writes(Write(Update(Operation.Touch, "project:#viewer@user:zoe")), StatusCode.InvalidArgument, "updates[0].relationship.resource.id: is required"),
        ["write: empty subject id"] = Writes(Write(Update(Operation.Touch, "project:storefront#viewer@user:")), StatusCode.InvalidArgument, "updates[0].relationship.subject.object.id: is required"),
        ["write: empty relation"] = Writes(Write(Update(Operation.Touch, "project:storefront#@user:zoe")), StatusCode.InvalidArgument, "updates[0].relationship.relation: is required"),
        ["write: illegal characters in id"] = Writes(Write(Update(Operation.Touch, "project:store<front>#viewer@user:zoe")), StatusCode.InvalidArgument, "not a valid id"),
        ["write: space in subject id"] = Writes(Write(Update(Operation.Touch, "project:storefront#viewer@user:zo e")), StatusCode.InvalidArgument, "subject.object.id"),
        ["write: 10 KB resource id"] = Writes(Write(Update(Operation.Touch, $"project:{TenKilobytes}#viewer@user:zoe")), StatusCode.InvalidArgument, "10240 characters"),
        ["write: 10 KB subject id"] = Writes(Write(Update(Operation.Touch, $"project:storefront#viewer@user:{TenKilobytes}")), StatusCode.InvalidArgument, "10240 characters"),
        ["write: uppercase type"] = Writes(Write(Update(Operation.Touch, "Project:storefront#viewer@user:zoe")), StatusCode.InvalidArgument, "not a valid type"),
        ["write: bad relation name"] = Writes(Write(Update(Operation.Touch, "project:storefront#view-er@user:zoe")), StatusCode.InvalidArgument, "relation"),
        ["write: wildcard with relation"] = Writes(Write(Update(Operation.Touch, "group:platform#member@user:*#member")), StatusCode.InvalidArgument, "wildcard"),
        ["write: oversized batch"] = Writes(Write([.. Enumerable.Range(0, 1001).Select(i => Update(Operation.Touch, $"project:storefront#viewer@user:u{i}"))]), StatusCode.InvalidArgument, "the limit is 1000"),
        ["write: one bad update among good ones"] = Writes(Write(
            Update(Operation.Touch, "project:storefront#viewer@user:zoe"),
            Update(Operation.Touch, "project:payments#viewer@user:zoe"),
            Update(Operation.Touch, "project:payments#viewer@user:z!oe")), StatusCode.InvalidArgument, "updates[2].relationship.subject.object.id"),

        // ---- WriteRelationships: against the schema ----
        ["write: unknown resource type"] = Writes(Write(Update(Operation.Touch, "spaceship:enterprise#viewer@user:zoe")), StatusCode.InvalidArgument, "'spaceship' is not defined"),
        ["write: unknown relation"] = Writes(Write(Update(Operation.Touch, "project:storefront#teleporter@user:zoe")), StatusCode.InvalidArgument, "'teleporter' is not a relation"),
        ["write: permission as relation"] = Writes(Write(Update(Operation.Touch, "project:storefront#view@user:zoe")), StatusCode.InvalidArgument, "is a permission"),
        ["write: wrong subject type"] = Writes(Write(Update(Operation.Touch, "organization:northwind#owner@group:platform#member")), StatusCode.InvalidArgument, "does not allow subjects"),
        ["write: unknown subject type"] = Writes(Write(Update(Operation.Touch, "project:storefront#viewer@robot:r2d2")), StatusCode.InvalidArgument, "'robot' is not defined"),
        ["write: unknown subject relation"] = Writes(Write(Update(Operation.Touch, "project:storefront#viewer@group:platform#boss")), StatusCode.InvalidArgument, "'boss'"),
        ["write: wildcard not allowed"] = Writes(Write(Update(Operation.Touch, "project:storefront#viewer@user:*")), StatusCode.InvalidArgument, "does not allow subjects"),
        ["write: create of a stored relationship"] = Writes(Write(Update(Operation.Create, "organization:northwind#owner@user:olivia")), StatusCode.AlreadyExists, "already exists"),
        ["write: create twice in one batch"] = Writes(Write(
            Update(Operation.Create, "project:storefront#viewer@user:zoe"),
            Update(Operation.Create, "project:storefront#viewer@user:zoe")), StatusCode.AlreadyExists, "already exists"),

        // ---- WriteRelationships: preconditions ----
        ["write: must-match precondition broken"] = Writes(WithPreconditions(
            MustMatch(Filter("organization", "northwind", "owner", new SubjectFilter { SubjectType = "user", SubjectId = "nobody" }))),
            StatusCode.FailedPrecondition, "preconditions[0] failed"),
        ["write: must-not-match precondition broken"] = Writes(WithPreconditions(
            MustMatch(Filter("organization", "northwind")),
            MustNotMatch(Filter("organization", "northwind", "owner"))),
            StatusCode.FailedPrecondition, "preconditions[1] failed"),
        ["write: precondition operation unspecified"] = Writes(WithPreconditions(new Precondition { Filter = Filter("organization") }), StatusCode.InvalidArgument, "preconditions[0].operation"),
        ["write: precondition filter missing"] = Writes(WithPreconditions(new Precondition { Operation = Precondition.Types.Operation.MustMatch }), StatusCode.InvalidArgument, "preconditions[0].filter: is required"),
        ["write: precondition unknown type"] = Writes(WithPreconditions(MustMatch(Filter("spaceship"))), StatusCode.InvalidArgument, "preconditions[0].filter.resource_type"),
        ["write: too many preconditions"] = Writes(WithPreconditions([.. Enumerable.Range(0, 101).Select(_ => MustMatch(Filter("organization")))]), StatusCode.InvalidArgument, "the limit is 100"),

        // ---- ReadRelationships ----
        ["read: filter missing"] = Read(null, StatusCode.InvalidArgument, "filter: is required"),
        ["read: empty resource type"] = Read(Filter(""), StatusCode.InvalidArgument, "filter.resource_type: is required"),
        ["read: unknown resource type"] = Read(Filter("spaceship"), StatusCode.InvalidArgument, "'spaceship' is not defined"),
        ["read: permission as relation"] = Read(Filter("project", relation: "view"), StatusCode.InvalidArgument, "is a permission"),
        ["read: illegal resource id"] = Read(Filter("project", "web;drop table"), StatusCode.InvalidArgument, "filter.resource_id"),
        ["read: 10 KB subject id"] = Read(Filter("project", subject: new SubjectFilter { SubjectType = "user", SubjectId = TenKilobytes }), StatusCode.InvalidArgument, "filter.subject.subject_id"),
        ["read: empty subject type"] = Read(Filter("project", subject: new SubjectFilter { SubjectId = "zoe" }), StatusCode.InvalidArgument, "filter.subject.subject_type: is required"),
        ["read: unknown subject type"] = Read(Filter("project", subject: new SubjectFilter { SubjectType = "robot" }), StatusCode.InvalidArgument, "'robot' is not defined"),
        ["read: unknown subject relation"] = Read(Filter("project", subject: new SubjectFilter { SubjectType = "group", Relation = "boss" }), StatusCode.InvalidArgument, "'boss'"),

        // ---- DeleteRelationships ----
        ["delete: filter missing"] = Delete(new DeleteRelationshipsRequest(), StatusCode.InvalidArgument, "filter: is required"),
        ["delete: unknown relation"] = Delete(new DeleteRelationshipsRequest { Filter = Filter("project", relation: "teleporter") }, StatusCode.InvalidArgument, "'teleporter' is not a relation"),
        ["delete: uppercase relation"] = Delete(new DeleteRelationshipsRequest { Filter = Filter("project", relation: "Viewer") }, StatusCode.InvalidArgument, "filter.relation"),
        ["delete: precondition broken"] = Delete(new DeleteRelationshipsRequest
        {
            Filter = Filter("project"),
            Preconditions = { MustNotMatch(Filter("project", "storefront")) },
        }, StatusCode.FailedPrecondition, "preconditions[0] failed"),

        // ---- LookupResources / LookupSubjects: pages ----
        ["lookup resources: limit above the cap"] = ResourcesPage(Page(OliviasProjects, 1001), StatusCode.InvalidArgument, "limit: is 1001; the limit is 1000"),
        ["lookup subjects: limit above the cap"] = SubjectsPage(Page(StorefrontViewers, 5000), StatusCode.InvalidArgument, "limit: is 5000"),
        ["lookup resources: malformed cursor"] = ResourcesPage(Page(OliviasProjects, 0, "%%%"), StatusCode.InvalidArgument, "cursor: is not a cursor"),
        ["lookup subjects: malformed cursor"] = SubjectsPage(Page(StorefrontViewers, 0, "djEgMSBmb28"), StatusCode.InvalidArgument, "cursor: is not a cursor"),
        ["lookup resources: altered cursor"] = ResourcesPage(async s =>
        {
            var cursor = await FirstCursorAsync(s, OliviasProjects);
            var middle = cursor.Length / 2;
            return Page(OliviasProjects, 0, cursor[..middle] + (cursor[middle] == 'x' ? 'y' : 'x') + cursor[(middle + 1)..]);
        }, StatusCode.InvalidArgument, "cursor: "),
        ["lookup resources: cursor of another subject"] = ResourcesPage(async s =>
        {
            var devons = OliviasProjects.Clone();
            devons.Subject = Subject("user:devon");
            return Page(OliviasProjects, 0, await FirstCursorAsync(s, devons));
        }, StatusCode.InvalidArgument, "cursor: belongs to another request"),
        ["lookup subjects: cursor of a LookupResources"] = SubjectsPage(async s => Page(StorefrontViewers, 0, await FirstCursorAsync(s, OliviasProjects)),
            StatusCode.InvalidArgument, "cursor: belongs to another request"),

        // ---- Check with a context (a management check, R25) ----
        ["check context: unknown management action"] = Checks(ContextCheck("promote", "admin", "user:zoe"), StatusCode.InvalidArgument, "action: 'promote' is not a management action"),
        ["check context: grant without a role"] = Checks(ContextCheck("grant", "", "user:zoe"), StatusCode.InvalidArgument, "context.target_role: is required"),
        ["check context: a role the type does not have"] = Checks(ContextCheck("grant", "captain", "user:zoe"), StatusCode.InvalidArgument, "'captain' is not a relation of 'organization'"),
        ["check context: revoke without a subject"] = Checks(ContextCheck("revoke", "admin", null), StatusCode.InvalidArgument, "context.target_subject: is required"),
        ["check context: batch item leaving with a target"] = new(s => s.Authorization.BatchCheckAsync(new BatchCheckRequest
        {
            Items = { Check("user:olivia", "view", "project:storefront"), ContextCheck("leave", "", "user:zoe") },
        }).ResponseAsync, StatusCode.InvalidArgument, "items[1].context.target_subject: must be unset"),
    };

    public static TheoryData<string, string> All()
    {
        var data = new TheoryData<string, string>();
        foreach (var provider in TestDatabase.Providers)
        {
            foreach (var name in Cases.Keys)
            {
                data.Add(provider == Storage.StorageProvider.Sqlite ? "sqlite" : "postgres", name);
            }
        }

        return data;
    }

    [Fact]
    public void Table_HasAtLeastThirtyCases() => Assert.True(Cases.Count >= 30, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(All))]
    public async Task BadInput_GetsItsStatus_AndChangesNothing(string provider, string name)
    {
        var server = await servers.GetAsync(provider);
        var mark = server.Logs.Mark;
        var before = await Snapshot.TakeAsync(server);
        var @case = Cases[name];

        var error = await Assert.ThrowsAsync<RpcException>(() => @case.Call(server));

        Assert.True(error.StatusCode == @case.Status, $"{name}: expected {@case.Status}, got {error.StatusCode}: {error.Status.Detail}");
        Assert.Contains(@case.Fragment, error.Status.Detail, StringComparison.Ordinal);
        Assert.True(error.Status.Detail.Length < 4096, $"{name}: the message is {error.Status.Detail.Length} characters long");
        Assert.Equal(before, await Snapshot.TakeAsync(server));
        Assert.Empty(server.Logs.ErrorsSince(mark));
    }

    private static Case Checks(CheckRequest request, StatusCode status, string fragment) =>
        new(s => s.Authorization.CheckAsync(request).ResponseAsync, status, fragment);

    // Whether olivia may do a management action on organization:northwind, about a role and a subject.
    private static CheckRequest ContextCheck(string action, string role, string? target)
    {
        var request = Check("user:olivia", action, "organization:northwind");
        request.Context = new CheckContext { TargetRole = role, TargetSubject = target is null ? null : Subject(target) };
        return request;
    }

    private static Case Schema(string schema, StatusCode status, string fragment) =>
        new(s => s.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = schema }).ResponseAsync, status, fragment);

    private static Case Writes(WriteRelationshipsRequest request, StatusCode status, string fragment) =>
        new(s => s.Relationships.WriteRelationshipsAsync(request).ResponseAsync, status, fragment);

    private static Case Delete(DeleteRelationshipsRequest request, StatusCode status, string fragment) =>
        new(s => s.Relationships.DeleteRelationshipsAsync(request).ResponseAsync, status, fragment);

    private static Case Read(RelationshipFilter? filter, StatusCode status, string fragment) =>
        new(async s =>
        {
            using var call = s.Relationships.ReadRelationships(new ReadRelationshipsRequest { Filter = filter });
            await call.ResponseStream.ReadAllAsync().ToListAsync();
        }, status, fragment);

    private static Case ResourcesPage(LookupResourcesRequest request, StatusCode status, string fragment) =>
        ResourcesPage(_ => Task.FromResult(request), status, fragment);

    private static Case SubjectsPage(LookupSubjectsRequest request, StatusCode status, string fragment) =>
        SubjectsPage(_ => Task.FromResult(request), status, fragment);

    private static Case ResourcesPage(Func<StoreServer, Task<LookupResourcesRequest>> request, StatusCode status, string fragment) =>
        new(async s =>
        {
            using var call = s.Authorization.LookupResources(await request(s));
            await call.ResponseStream.ReadAllAsync().ToListAsync();
        }, status, fragment);

    private static Case SubjectsPage(Func<StoreServer, Task<LookupSubjectsRequest>> request, StatusCode status, string fragment) =>
        new(async s =>
        {
            using var call = s.Authorization.LookupSubjects(await request(s));
            await call.ResponseStream.ReadAllAsync().ToListAsync();
        }, status, fragment);

    // The cursor after the first result of a well-formed lookup, as the server issues it.
    private static async Task<string> FirstCursorAsync(StoreServer server, LookupResourcesRequest request)
    {
        using var call = server.Authorization.LookupResources(Page(request, 1));
        return (await call.ResponseStream.ReadAllAsync().FirstAsync()).AfterResultCursor;
    }

    // A valid update that the broken preconditions must keep from committing.
    private static WriteRelationshipsRequest WithPreconditions(params Precondition[] preconditions)
    {
        var request = Write(Update(Operation.Touch, "project:storefront#viewer@user:zoe"));
        request.Preconditions.Add(preconditions);
        return request;
    }

    private static RelationshipUpdate With(RelationshipUpdate update, Action<RelationshipUpdate> change)
    {
        change(update);
        return update;
    }

    /// <summary>
    /// One server per provider, started on first use, on a database of its own; shared by the cases (the tests of a
    /// class run one at a time, so no lock is needed).
    /// </summary>
    public sealed class Servers : IAsyncLifetime
    {
        private readonly Dictionary<string, (TestDatabase Database, StoreServer Server)> _started = [];

        public async Task<StoreServer> GetAsync(string provider)
        {
            if (!_started.TryGetValue(provider, out var entry))
            {
                var database = TestDatabase.Create(provider);
                entry = (database, await StoreServer.StartAsync(database));
                _started[provider] = entry;
            }

            return entry.Server;
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            foreach (var (database, server) in _started.Values)
            {
                await server.DisposeAsync();
                await database.DisposeAsync();
            }
        }
    }
}
