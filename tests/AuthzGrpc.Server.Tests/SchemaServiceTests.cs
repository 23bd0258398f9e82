using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>WriteSchema and ReadSchema: a change that orphans relationships is refused unless forced; checks follow at once.</summary>
public sealed class SchemaServiceTests
{
    private const string Version1 = """
        definition user {}

        definition doc {
            relation viewer: user
            relation editor: user
            permission view = viewer + editor
        }
        """;

    // Drops `editor`, adds `commenter`.
    private const string Version2 = """
        definition user {}

        definition doc {
            relation viewer: user
            relation commenter: user
            permission view = viewer
            permission comment = commenter + viewer
        }
        """;

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WriteSchema_OrphaningRelationships_IsRefusedNamingThem_ThenAcceptedWithForce(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:RelationshipsFile"] = "" });
        Assert.Equal("2", (await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = Version1 })).Revision);
        var updates = Enumerable.Range(0, 12).Select(i => Update(Operation.Touch, $"doc:d{i}#editor@user:eve"))
            .Append(Update(Operation.Touch, "doc:d0#viewer@user:vic"))
            .ToArray();
        await server.Relationships.WriteRelationshipsAsync(Write(updates));
        var before = await Snapshot.TakeAsync(server);

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = Version2 }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("12 stored relationship", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("doc:d0#editor@user:eve", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("'editor' is not a relation of 'doc'", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("and 2 more", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("force", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await Snapshot.TakeAsync(server));
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:eve", "view", "doc:d3"))).Decision);

        var forced = await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = Version2, Force = true });

        Assert.Equal("4", forced.Revision);
        var read = await server.Schema.ReadSchemaAsync(new ReadSchemaRequest());
        Assert.Equal((Version2, "4"), (read.Schema, read.Revision));
        Assert.Equal(["doc:d0#viewer@user:vic"], (await Snapshot.ReadAsync(server.Relationships, Filter("doc"))).Relationships);
        var eve = await server.Authorization.CheckAsync(Check("user:eve", "view", "doc:d3"));
        Assert.Equal((Decision.Denied, "4"), (eve.Decision, eve.Revision));
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:vic", "comment", "doc:d0"))).Decision);

        // The new relation is writable at once, and the old one is gone.
        await server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Create, "doc:d5#commenter@user:eve")));
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:eve", "comment", "doc:d5"))).Decision);
        var gone = await Assert.ThrowsAsync<RpcException>(() =>
            server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "doc:d5#editor@user:eve"))).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, gone.StatusCode);

        var changes = await server.Store.Model.ReadChangesAsync(3);
        Assert.Equal(12, changes[0].Changes.Count(c => c.Operation == Core.Engine.RelationshipOperation.Delete));
        Assert.Equal(2, (await server.Store.Model.ReadSchemaVersionsAsync()).Count(v => v.Revision >= 2));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WriteSchema_ChangingAllowedSubjectTypes_OrphansTheOthers(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:RelationshipsFile"] = "" });
        await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = Version1 });
        await server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "doc:d1#viewer@user:vic")));

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Schema.WriteSchemaAsync(new WriteSchemaRequest
        {
            Schema = "definition user {}\ndefinition team {\n    relation member: user\n}\ndefinition doc {\n    relation viewer: team#member\n    relation editor: user\n}\n",
        }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("doc:d1#viewer@user:vic", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("does not allow subjects of type 'user'", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteSchema_Compatible_KeepsEveryRelationship_AndAnswersAtTheNewRevision()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var before = await Snapshot.TakeAsync(server);

        var response = await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = before.Schema + "\ndefinition extra {}\n" });
        var check = await server.Authorization.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"));

        Assert.Equal("2", response.Revision);
        Assert.Equal((Decision.Allowed, "2"), (check.Decision, check.Revision));
        Assert.Equal(before.Relationships, (await Snapshot.TakeAsync(server)).Relationships);
        server.AssertNoErrors();
    }

    // SpiceDB refuses names under three characters at write, and loads what can never grant: so does WriteSchema, which
    // says where (and ValidateModel says the same before anything is written).
    [Fact]
    public async Task WriteSchema_RefusesShortNames_AndAcceptsWhatNeverGrantsWithWarnings()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:RelationshipsFile"] = "" });
        var before = await Snapshot.TakeAsync(server);
        const string Short = "definition user {}\ndefinition doc {\n    relation vw: user\n}\n";

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = Short }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("schema: line 3, column 14: 'vw' in 'doc' is shorter than 3 characters", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await Snapshot.TakeAsync(server));
        var validated = await server.Schema.ValidateModelAsync(new ValidateModelRequest { Schema = Short });
        var problem = Assert.Single(validated.Problems);
        Assert.Equal((ModelPart.Schema, 3, 14), (problem.Part, problem.Line, problem.Column));

        const string NeverGrants = "definition user {}\ndefinition folder {\n    relation parent: folder\n    relation viewer: user\n    permission view = viewer + parent->nowhere\n}\n";
        var written = await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = NeverGrants });

        var warning = Assert.Single(written.Warnings);
        Assert.Equal((5, 40), (warning.Line, warning.Column));
        Assert.Contains("arrow 'parent->nowhere' in 'folder#view' never grants", warning.Message, StringComparison.Ordinal);
        Assert.Equal(written.Warnings, (await server.Schema.ValidateModelAsync(new ValidateModelRequest { Schema = NeverGrants })).Warnings);
        await server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "folder:docs#parent@folder:root"), Update(Operation.Touch, "folder:root#viewer@user:ann")));
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:ann", "view", "folder:root"))).Decision);
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Check("user:ann", "view", "folder:docs"))).Decision);
        server.AssertNoErrors();
    }
}
