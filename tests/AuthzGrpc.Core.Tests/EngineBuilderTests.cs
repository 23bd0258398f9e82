using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>An engine built a batch at a time, as a load from storage builds it, against one written in one batch.</summary>
public sealed class EngineBuilderTests
{
    private const string Schema = """
        definition user {}
        definition group {
            relation member: user | group#member
        }
        definition folder {
            relation parent: folder
            relation viewer: user | user:* | group#member
            permission view = viewer + parent->view
        }
        """;

    private static readonly string[] Relationships =
    [
        "group:eng#member@user:alice",
        "group:all#member@group:eng#member",
        "folder:root#viewer@group:all#member",
        "folder:docs#parent@folder:root",
        "folder:public#viewer@user:*",
        "folder:docs#viewer@user:bob",
        "folder:docs#viewer@user:bob",
    ];

    [Fact]
    public void Batches_GiveTheEngineOneWriteGives_AtTheStoredRevision()
    {
        var schema = CompiledSchema.Compile(Schema);
        var builder = new EngineBuilder(schema);
        foreach (var batch in Relationships.Select(Relationship.Parse).Chunk(2))
        {
            builder.Add(batch);
        }

        var built = builder.Build(revision: 42);
        var written = new PermissionEngine(schema);
        written.Add(Relationships.Select(Relationship.Parse));

        Assert.Equal(42, built.Revision);
        Assert.Equal(6, built.RelationshipCount);
        Assert.Equal(Sorted(written.ReadAll()), Sorted(built.ReadAll()));
        foreach (var (resource, subject) in new[] { ("folder:docs", "user:alice"), ("folder:docs", "user:bob"), ("folder:root", "user:bob"), ("folder:public", "user:carol") })
        {
            Assert.Equal(Check(written, resource, subject), Check(built, resource, subject));
        }

        Assert.True(Check(built, "folder:docs", "user:alice"));
        Assert.False(Check(built, "folder:root", "user:bob"));

        // It goes on as any engine: the next write is newer than the stored revision.
        Assert.Equal(43, built.Remove(Relationship.Parse("group:eng#member@user:alice")));
        Assert.False(Check(built, "folder:docs", "user:alice"));
    }

    [Fact]
    public void NoStoredRevision_IsTheFirstWritesRevision_OrNoneWhenEmpty()
    {
        var schema = CompiledSchema.Compile(Schema);
        var withRelationships = new EngineBuilder(schema);
        withRelationships.Add([Relationship.Parse("folder:docs#viewer@user:bob")]);

        Assert.Equal(1, withRelationships.Build(revision: 0).Revision);
        Assert.Equal(0, new EngineBuilder(schema).Build(revision: 0).Revision);
    }

    [Fact]
    public void ARelationshipThatDoesNotFit_IsRefusedAsAWriteRefusesIt()
    {
        var builder = new EngineBuilder(CompiledSchema.Compile(Schema));

        var error = Assert.Throws<AuthzException>(() => builder.Add([Relationship.Parse("folder:docs#editor@user:bob")]));

        Assert.Equal(AuthzErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("editor", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Built_TheBuilderIsDone()
    {
        var builder = new EngineBuilder(CompiledSchema.Compile(Schema));
        builder.Build(revision: 1);

        Assert.Throws<ObjectDisposedException>(() => builder.Build(revision: 2));
        Assert.Throws<ObjectDisposedException>(() => builder.Add([Relationship.Parse("folder:docs#viewer@user:bob")]));
    }

    private static bool Check(PermissionEngine engine, string resource, string subject) =>
        engine.Check(ObjectRef.Parse(resource), "view", SubjectRef.Parse(subject));

    private static string[] Sorted(IEnumerable<Relationship> relationships) =>
        [.. relationships.Select(r => r.ToString()).Order(StringComparer.Ordinal)];
}
