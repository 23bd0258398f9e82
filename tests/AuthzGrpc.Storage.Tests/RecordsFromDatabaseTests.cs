using System.Text;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.Storage.Tests.Infrastructure;
using Xunit.Abstractions;

namespace AuthzGrpc.Storage.Tests;

/// <summary>
/// Records computed from the database on demand (<see cref="RecordBuilder"/> over <see cref="DatabaseRelationshipIndex"/>)
/// against the records of an engine loaded from the same database, as a replica loads it: the same bytes for every
/// object and wildcard, on each provider; and the default model's assertions answered over such records
/// (<see cref="OnDemandCheck"/>), as a replica without an engine would answer them.
/// </summary>
public sealed class RecordsFromDatabaseTests(ITestOutputHelper output)
{
    private static readonly ValidationFile DefaultModel = ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", "default.yaml"));

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task DefaultModel_EveryRecordFromDatabaseEqualsEngineRecord(string provider)
    {
        await using var seeded = await SeededStore.CreateAsync(provider, DefaultModel.SchemaText, DefaultModel.Relationships);
        var queries = await AssertEveryRecordEqualsEngineAsync(seeded.Store, DefaultModel.Relationships);

        output.WriteLine(
            $"{queries.Count} records: {queries.Min()} to {queries.Max()} queries each, {queries.Average():F1} on average " +
            $"({string.Join(", ", queries.GroupBy(q => q).OrderBy(g => g.Key).Select(g => $"{g.Count()} with {g.Key}"))})");
        Assert.InRange(queries.Max(), 1, 10);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task DefaultModel_EveryAssertionAnsweredOverRecordsFromDatabase(string provider)
    {
        await using var seeded = await SeededStore.CreateAsync(provider, DefaultModel.SchemaText, DefaultModel.Relationships);
        var schema = CompiledSchema.Compile(DefaultModel.SchemaText);
        await using var index = await seeded.Store.Model.OpenRelationshipIndexAsync();
        var builder = new RecordBuilder(schema, index);

        var wrong = new List<string>();
        var queries = new List<int>();
        var assertions = DefaultModel.Assertions.Where(a => a.Context is null).ToList();
        foreach (var assertion in assertions)
        {
            var before = index.Queries;
            var (resource, subject) = (assertion.Resource, assertion.Subject);
            var target = RecordEvaluator.Resolve(schema, resource.Type, assertion.Permission, subject.Type, subject.Id, subject.Relation);
            if (await OnDemandCheck.CheckAsync(builder, target, resource.Id, subject.Id, DateTimeOffset.UtcNow) != assertion.Expected)
            {
                wrong.Add(assertion.ToString());
            }

            queries.Add(index.Queries - before);
        }

        Assert.Empty(wrong);
        // A cold check: its first wave (resource, subject, wildcard) and its second (the resource's ancestors).
        output.WriteLine($"{assertions.Count} assertions: {queries.Min()} to {queries.Max()} queries each, {queries.Average():F1} on average");
        Assert.InRange(assertions.Count, 100, int.MaxValue);
        Assert.InRange(queries.Max(), 1, 10);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ExpiringAndCaveated_ReadBackAsTheEngineHoldsThem(string provider)
    {
        const string Schema = """
            use expiration
            caveat flagged(enabled bool) { enabled }
            definition user {}
            definition group {
                relation member: user | group#member
                relation guest: user with expiration | user with flagged
            }
            definition folder {
                relation parent: folder | folder with expiration
                relation viewer: group#member | group#guest with expiration
                permission view = viewer + parent->view
            }
            """;
        string[] written =
        [
            "group:eng#member@user:alice",
            "group:all#member@group:eng#member",
            "group:eng#guest@user:bob[expiration:2020-01-01T00:00:00Z]",
            "group:eng#guest@user:carol[expiration:2099-01-01T00:00:00.123456Z]",
            "group:eng#guest@user:dan[flagged:{\"enabled\":true}]",
            "folder:root#viewer@group:eng#member",
            "folder:docs#parent@folder:root[expiration:2099-01-01T00:00:00Z]",
            "folder:docs#viewer@group:eng#guest[expiration:2099-01-01T00:00:00Z]",
        ];
        var relationships = written.Select(Relationship.Parse).ToList();
        await using var seeded = await SeededStore.CreateAsync(provider, Schema, relationships);
        var store = seeded.Store;

        await AssertEveryRecordEqualsEngineAsync(store, relationships);

        // The expired relationship is still stored, so still in the record; the expiring arrow still walked.
        await using var index = await store.Model.OpenRelationshipIndexAsync();
        var builder = new RecordBuilder(CompiledSchema.Compile(Schema), index);
        Assert.Contains("user:bob!2020-01-01T00:00:00.0000000Z", (await builder.BuildAsync("group", "eng")).Relations["guest"]);
        Assert.Equal(["folder:root"], (await builder.BuildAsync("folder", "docs")).Ancestors);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WideLevel_ReadInChunksOfIds(string provider)
    {
        const int Groups = (2 * DatabaseRelationshipIndex.ChunkSize) + 1;
        const string Schema = "definition user {}\ndefinition group {\n    relation member: user | group#member\n}\n";
        await using var seeded = await SeededStore.CreateAsync(
            provider,
            Schema,
            [.. Enumerable.Range(0, Groups).SelectMany(i => new[]
            {
                Relationship.Parse($"group:g{i}#member@user:alice"),
                Relationship.Parse($"group:all#member@group:g{i}#member"),
            })]);
        var store = seeded.Store;
        var (schema, engine) = await LoadEngineAsync(store);
        using var loaded = engine;
        await using var index = await store.Model.OpenRelationshipIndexAsync();

        var content = await new RecordBuilder(schema, index).BuildAsync("user", "alice");

        Assert.Equal(Text(engine.DescribeRecord("user", "alice")), Text(content));
        Assert.Equal(Groups + 1, content.Reach.Count);
        // Its own relationships, its groups, then the 1,001 groups' sets in three chunks, then group:all#member's.
        Assert.Equal(1 + 1 + 3 + 1, index.Queries);
    }

    // Every record of the objects `relationships` name (and every wildcard) computed from the database equals the one
    // of an engine loaded from it; every record the shared graph would hold is among them. The queries each cost.
    private static async Task<List<int>> AssertEveryRecordEqualsEngineAsync(AuthzStore store, IReadOnlyList<Relationship> relationships)
    {
        var (schema, engine) = await LoadEngineAsync(store);
        using var loaded = engine;
        await using var index = await store.Model.OpenRelationshipIndexAsync();
        var builder = new RecordBuilder(schema, index);
        var queries = new List<int>();
        var keys = ObjectsAndWildcards(schema, relationships).ToList();
        foreach (var (type, id) in keys)
        {
            var before = index.Queries;
            Assert.Equal(Text(engine.DescribeRecord(type, id)), Text(await builder.BuildAsync(type, id)));
            queries.Add(index.Queries - before);
        }

        Assert.Subset(keys.ToHashSet(), engine.DescribeAllRecords().Select(r => (r.Type, r.Id)).ToHashSet());
        return queries;
    }

    // The engine a replica loads from the store, with the schema stored.
    private static async Task<(CompiledSchema Schema, PermissionEngine Engine)> LoadEngineAsync(AuthzStore store)
    {
        var stored = await store.Model.LoadAsync();
        var schema = CompiledSchema.Compile(stored.SchemaText!);
        var engine = new PermissionEngine(schema);
        engine.Write([.. stored.Relationships.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r))], stored.Revision);
        return (schema, engine);
    }

    // Every object the relationships name, every type's wildcard, and an object nothing names.
    private static IEnumerable<(string Type, string Id)> ObjectsAndWildcards(CompiledSchema schema, IEnumerable<Relationship> stored) =>
        stored.SelectMany(r => new[] { (r.Resource.Type, r.Resource.Id), (r.Subject.Type, r.Subject.Id) })
            .Concat(schema.Types.SelectMany(t => new[] { (t.Name, Identifiers.Wildcard), (t.Name, "absent") }))
            .Distinct();

    private static string Text(RecordContent content) => Encoding.UTF8.GetString(GraphRecordCodec.Encode(content));

    /// <summary>A migrated database of one provider, seeded; disposing it deletes it.</summary>
    private sealed class SeededStore(TestDatabase database, AuthzStore store) : IAsyncDisposable
    {
        public AuthzStore Store => store;

        public static async Task<SeededStore> CreateAsync(string provider, string schema, IReadOnlyCollection<Relationship> relationships)
        {
            var database = TestDatabase.Create(provider);
            var store = await database.CreateMigratedStoreAsync();
            await store.Model.SeedAsync(schema, relationships, "system");
            return new SeededStore(database, store);
        }

        public async ValueTask DisposeAsync()
        {
            await store.DisposeAsync();
            await database.DisposeAsync();
        }
    }
}
