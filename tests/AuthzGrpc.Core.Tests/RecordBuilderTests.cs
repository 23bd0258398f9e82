using System.Text;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using Xunit.Abstractions;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// Records computed from relationships read on demand (<see cref="RecordBuilder"/>) against the engine's
/// (<see cref="PermissionEngine.DescribeRecord(string, string)"/>): the same bytes for every object and wildcard of
/// random models — with expiring (some already expired) and caveated relationships — one at a time and all together,
/// a deep chain read one level per read (records asked together sharing each level), and the bound on the work of a call.
/// Checks evaluated over such records (<see cref="OnDemandCheck"/>) answer as the engine does.
/// </summary>
public sealed class RecordBuilderTests(ITestOutputHelper output)
{
    private const int Models = 200;
    private const int WritesPerModel = 60;
    private const int ChecksPerModel = 25;

    private const string ChainSchema = """
        definition user {}
        definition group {
            relation member: user | group#member
        }
        definition folder {
            relation parent: folder
            relation viewer: group#member
            permission view = viewer + parent->view
        }
        """;

    [Fact]
    public async Task RandomModels_RecordFromIndexEqualsEngineRecord()
    {
        var seed = RandomModel.Seed(output);
        var records = 0;
        var nonEmpty = 0;
        var maxReads = 0;
        var (expired, caveated) = (0, 0);
        for (var m = 0; m < Models; m++)
        {
            var random = new Random(seed + m);
            var model = RandomModel.Create(random);
            using var engine = new PermissionEngine(model.Schema) { Clock = model.Clock };
            var stored = WriteRandomly(model, engine, random);
            expired += stored.Count(r => r.IsExpiredAt(model.Clock.GetUtcNow()));
            caveated += stored.Count(r => r.Caveat is not null);
            var keys = ObjectsAndWildcards(model.Schema, stored).ToList();
            var together = await new RecordBuilder(model.Schema, new InMemoryRelationshipIndex(stored, engine.Revision)).BuildAsync(keys);
            Assert.Equal(keys.Select(k => Text(engine.DescribeRecord(k.Type, k.Id))), together.Select(Text));
            foreach (var (type, id) in keys)
            {
                var index = new InMemoryRelationshipIndex(stored, engine.Revision);
                var engineRecord = engine.DescribeRecord(type, id);
                var expected = Text(engineRecord);
                var actual = Text(await new RecordBuilder(model.Schema, index).BuildAsync(type, id));
                Assert.True(expected == actual,
                    $"model seed {seed + m}: record of {type}:{id}\nengine:\n{expected}\nfrom the index:\n{actual}\nschema:\n{model.Schema.Text}\nrelationships:\n{string.Join("\n", stored)}");
                records++;
                nonEmpty += engineRecord.IsEmpty ? 0 : 1;
                maxReads = Math.Max(maxReads, index.Reads);
            }
        }

        output.WriteLine($"{records} records ({nonEmpty} not empty), at most {maxReads} reads for one; {expired} expired and {caveated} caveated relationships stored");
        Assert.InRange(nonEmpty, records / 10, records);
        Assert.True(expired > 0 && caveated > 0, "the models stored no expired or no caveated relationship");
    }

    [Fact]
    public async Task RandomModels_CheckOverRecordsFromIndexAgreesWithEngine()
    {
        var seed = RandomModel.Seed(output);
        var (checks, allowed) = (0, 0);
        for (var m = 0; m < Models; m++)
        {
            var random = new Random(seed + m);
            // The shared graph leaves checks under a schema with caveats to the engine: its records hold none.
            var model = RandomModel.Create(random, caveats: false);
            using var engine = new PermissionEngine(model.Schema) { Clock = model.Clock };
            var stored = WriteRandomly(model, engine, random);
            var builder = new RecordBuilder(model.Schema, new InMemoryRelationshipIndex(stored, engine.Revision));
            for (var q = 0; q < ChecksPerModel; q++)
            {
                var (resource, permission, subject) = model.RandomQuery();
                var expected = engine.Check(resource, permission, subject);
                var target = RecordEvaluator.Resolve(model.Schema, resource.Type, permission, subject.Type, subject.Id, subject.Relation);
                var actual = await OnDemandCheck.CheckAsync(builder, target, resource.Id, subject.Id, model.Clock.GetUtcNow());
                Assert.True(expected == actual,
                    $"model seed {seed + m}: {resource}#{permission}@{subject}: engine {expected}, records from the index {actual}\nschema:\n{model.Schema.Text}\nrelationships:\n{string.Join("\n", stored)}");
                checks++;
                allowed += actual ? 1 : 0;
            }
        }

        output.WriteLine($"{checks} checks, {allowed} allowed");
        Assert.InRange(allowed, checks / 20, checks - (checks / 20));
    }

    [Fact]
    public async Task DeepChain_ReadsOneLevelAtATime()
    {
        const int Depth = 100;
        var schema = CompiledSchema.Compile(ChainSchema);
        using var engine = new PermissionEngine(schema);
        List<Relationship> stored =
        [
            .. Enumerable.Range(0, Depth - 1).Select(i => Relationship.Parse($"folder:f{i}#parent@folder:f{i + 1}")),
            .. Enumerable.Range(0, Depth - 1).Select(i => Relationship.Parse($"group:g{i}#member@group:g{i + 1}#member")),
            Relationship.Parse($"group:g{Depth - 1}#member@user:alice"),
            Relationship.Parse($"folder:f{Depth - 1}#viewer@group:g0#member"),
        ];
        engine.Add(stored);

        // Reads: the object's own, then one per level of its ancestors (f1..f99), or one per level of its closure
        // (alice's groups, g99 up to g0, and the level that finds nothing above g0).
        (string Type, string Id, int Reads, int Entries)[] cases =
        [
            ("folder", "f0", Depth, Depth - 1),
            ("user", "alice", Depth + 2, Depth),
            ("group", $"g{Depth - 1}", Depth + 1, Depth - 1),
        ];
        foreach (var (type, id, reads, entries) in cases)
        {
            var index = new InMemoryRelationshipIndex(stored, engine.Revision);
            var content = await new RecordBuilder(schema, index).BuildAsync(type, id);
            Assert.Equal(Text(engine.DescribeRecord(type, id)), Text(content));
            Assert.Equal(entries, content.Ancestors.Count + content.Reach.Count + content.SubjectSetReach.Values.Sum(r => r.Count));
            Assert.Equal(reads, index.Reads);
        }

        // Together, the three share every level: their own relationships in one read, f1..f99 one level each, and
        // {alice, g99#member}, g98#member, ..., g0#member one level each.
        var shared = new InMemoryRelationshipIndex(stored, engine.Revision);
        var records = await new RecordBuilder(schema, shared).BuildAsync([.. cases.Select(c => (c.Type, c.Id))]);
        Assert.Equal(cases.Select(c => Text(engine.DescribeRecord(c.Type, c.Id))), records.Select(Text));
        Assert.Equal(1 + (Depth - 1) + Depth, shared.Reads);
    }

    [Fact]
    public async Task MaxRows_ExceededFailsWholeRecordAsResourceExhausted()
    {
        var schema = CompiledSchema.Compile(ChainSchema);
        var members = Enumerable.Range(0, 10).Select(i => Relationship.Parse($"group:eng#member@user:u{i}")).ToList();
        var index = new InMemoryRelationshipIndex([.. members, Relationship.Parse("group:all#member@group:eng#member")], revision: 1);

        // group:eng reads its 10 members and the one set its member set is in: 11 rows.
        var content = await new RecordBuilder(schema, index, maxRows: 11).BuildAsync("group", "eng");
        var error = await Assert.ThrowsAsync<AuthzException>(() => new RecordBuilder(schema, index, maxRows: 10).BuildAsync("group", "eng"));

        Assert.Equal(10, content.Relations["member"].Count);
        Assert.Equal(["group:all#member"], content.SubjectSetReach["member"]);
        Assert.Equal(AuthzErrorKind.ResourceExhausted, error.Kind);
        Assert.Contains("group:eng", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelled_ReadsNothing()
    {
        var index = new InMemoryRelationshipIndex([Relationship.Parse("group:eng#member@user:alice")], revision: 1);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => new RecordBuilder(CompiledSchema.Compile(ChainSchema), index).BuildAsync("group", "eng", cancelled.Token));
        Assert.Equal(0, index.Reads);
    }

    // Random writes — touches and deletes, the clock moving so that some stored relationships have expired — applied to
    // the engine and mirrored as stored (the engine keeps expired ones until they are deleted, as the database does).
    private static List<Relationship> WriteRandomly(RandomModel model, PermissionEngine engine, Random random)
    {
        var stored = new Dictionary<Relationship, Relationship>();
        for (var w = 0; w < WritesPerModel; w++)
        {
            if (random.Next(5) == 0)
            {
                model.Clock.Advance(TimeSpan.FromSeconds(random.Next(1, 120)));
            }

            var change = stored.Count > 0 && random.Next(4) == 0 ? stored.Keys.ElementAt(random.Next(stored.Count)) : model.RandomRelationship();
            if (change is not { } relationship)
            {
                continue;
            }

            if (stored.Remove(relationship))
            {
                engine.Remove(relationship);
            }
            else
            {
                engine.Add(relationship);
                stored[relationship] = relationship;
            }
        }

        return [.. stored.Values];
    }

    // Every object the relationships name, every type's wildcard, and an object nothing names.
    private static IEnumerable<(string Type, string Id)> ObjectsAndWildcards(CompiledSchema schema, IEnumerable<Relationship> stored) =>
        stored.SelectMany(r => new[] { (r.Resource.Type, r.Resource.Id), (r.Subject.Type, r.Subject.Id) })
            .Concat(schema.Types.SelectMany(t => new[] { (t.Name, Identifiers.Wildcard), (t.Name, "absent") }))
            .Distinct();

    private static string Text(RecordContent content) => Encoding.UTF8.GetString(GraphRecordCodec.Encode(content));
}
