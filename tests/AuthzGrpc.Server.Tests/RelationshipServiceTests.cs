using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>WriteRelationships, ReadRelationships and DeleteRelationships against a real database of each provider.</summary>
public sealed class RelationshipServiceTests
{
    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Write_CreateTouchDelete_CommitsNextRevision_AndChecksSeeIt(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);

        var created = await server.Relationships.WriteRelationshipsAsync(Write(
            Update(Operation.Create, "project:storefront#viewer@user:zoe"),
            Update(Operation.Touch, "project:payments#viewer@user:zoe")));
        var check = await server.Authorization.CheckAsync(Check("user:zoe", "view", "project:storefront"));
        var deleted = await server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Delete, "project:storefront#viewer@user:zoe")));
        var after = await server.Authorization.CheckAsync(Check("user:zoe", "view", "project:storefront"));

        Assert.Equal(("2", "3"), (created.Revision, deleted.Revision));
        Assert.Equal((Decision.Allowed, "2"), (check.Decision, check.Revision));
        Assert.Equal((Decision.Denied, "3"), (after.Decision, after.Revision));
        var (zoe, revision) = await Snapshot.ReadAsync(server.Relationships, Filter("project", subject: new SubjectFilter { SubjectType = "user", SubjectId = "zoe" }));
        Assert.Equal(["project:payments#viewer@user:zoe"], zoe);
        Assert.Equal("3", revision);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Write_WithHoldingPreconditions_Commits(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var request = Write(Update(Operation.Touch, "organization:northwind#admin@user:zoe"));
        request.Preconditions.Add(MustMatch(
            Filter("organization", "northwind", "owner", new SubjectFilter { SubjectType = "user", SubjectId = "olivia" })));
        request.Preconditions.Add(MustNotMatch(
            Filter("organization", "northwind", "admin", new SubjectFilter { SubjectType = "user", SubjectId = "zoe" })));

        var response = await server.Relationships.WriteRelationshipsAsync(request);

        Assert.Equal("2", response.Revision);
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:zoe", "view_audit_logs", "organization:northwind"))).Decision);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Read_FilterBySubjectRelation_DistinguishesObjectsFromSubjectSets(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        await server.Relationships.WriteRelationshipsAsync(Write(
            Update(Operation.Touch, "group:platform#member@user:zoe"),
            Update(Operation.Touch, "group:platform#member@group:extra#member")));

        var any = await Snapshot.ReadAsync(server.Relationships, Filter("group", "platform", "member"));
        var sets = await Snapshot.ReadAsync(server.Relationships, Filter("group", "platform", "member", new SubjectFilter { SubjectType = "group", Relation = "member" }));
        var objects = await Snapshot.ReadAsync(server.Relationships, Filter("group", "platform", "member", new SubjectFilter { SubjectType = "group", Relation = "" }));

        Assert.Contains("group:platform#member@user:zoe", any.Relationships);
        Assert.Contains("group:platform#member@group:extra#member", sets.Relationships);
        Assert.DoesNotContain(sets.Relationships, r => r.Contains("@user:", StringComparison.Ordinal));
        Assert.Empty(objects.Relationships);
        Assert.Equal(any.Relationships, [.. (await server.Store.Model.ListRelationshipsAsync(new("group", "platform", "member"))).Select(r => r.ToString()).Order(StringComparer.Ordinal)]);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Delete_ByFilter_ReturnsCountAndRevision_AndChecksSeeIt(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var before = await Snapshot.ReadAsync(server.Relationships, Filter("organization", "northwind", "member"));

        var response = await server.Relationships.DeleteRelationshipsAsync(new DeleteRelationshipsRequest { Filter = Filter("organization", "northwind", "member") });
        var nothing = await server.Relationships.DeleteRelationshipsAsync(new DeleteRelationshipsRequest { Filter = Filter("organization", "nowhere") });

        Assert.NotEmpty(before.Relationships);
        Assert.Equal(((ulong)before.Relationships.Count, "2"), (response.DeletedCount, response.Revision));
        Assert.Equal((0UL, "3"), (nothing.DeletedCount, nothing.Revision));
        Assert.Empty((await Snapshot.ReadAsync(server.Relationships, Filter("organization", "northwind", "member"))).Relationships);
        var check = await server.Authorization.CheckAsync(Check("user:olivia", "member", "organization:northwind"));
        Assert.Equal((Decision.Denied, "3"), (check.Decision, check.Revision));
        server.AssertNoErrors();
    }

    [Fact]
    public async Task Read_CancelledMidStream_LeavesTheServerHealthy()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        using var cancel = new CancellationTokenSource();
        using var call = server.Relationships.ReadRelationships(new ReadRelationshipsRequest { Filter = Filter("organization") }, cancellationToken: cancel.Token);

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await cancel.CancelAsync();

        var after = await Snapshot.ReadAsync(server.Relationships, Filter("organization"));
        Assert.NotEmpty(after.Relationships);
        server.AssertNoErrors();
    }
}
