using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;
using Xunit.Abstractions;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// The shared graph's property test. Records are kept the way the server keeps them in Redis — encoded, and after
/// each write only the records <see cref="PermissionEngine.AffectedRecords"/> names are rewritten — and a check
/// evaluated over them by <see cref="RecordEvaluator"/>, fetching records in waves as a cold near cache does, must
/// answer exactly as the engine does. Periodically the incrementally kept records are compared with a full rebuild,
/// so a record a write should have rewritten and did not is caught even when no query happens to read it.
/// </summary>
public sealed class RecordsMatchEngineTests(ITestOutputHelper output)
{
    private const int Models = 200;
    private const int QueriesPerModel = 50;

    [Fact]
    public void RandomModels_RecordEvaluationAgreesWithEngine()
    {
        var seed = RandomModel.Seed(output);
        var checks = 0;
        var allowed = 0;
        var maxWaves = 0;
        for (var m = 0; m < Models; m++)
        {
            var random = new Random(seed + m);
            // The shared graph leaves checks under a schema with caveats to the engine: its records hold none.
            var model = RandomModel.Create(random, caveats: false);
            using var engine = new PermissionEngine(model.Schema) { Clock = model.Clock };
            var stored = new Dictionary<(string, string), byte[]>();
            for (var q = 0; q < QueriesPerModel; q++)
            {
                if (random.Next(4) == 0)
                {
                    model.Clock.Advance(TimeSpan.FromSeconds(random.Next(1, 60)));
                }

                var writes = q == 0 ? 30 : random.Next(3) == 0 ? 1 : 0;
                for (var w = 0; w < writes; w++)
                {
                    Mutate(model, engine, stored, random);
                }

                var (resource, permission, subject) = model.RandomQuery();
                var expected = engine.Check(resource, permission, subject);
                var (actual, waves) = ColdRecords.Check(model.Schema, stored, resource, permission, subject, model.Clock.GetUtcNow());
                Assert.True(expected == actual, $"model seed {seed + m}: {resource}#{permission}@{subject}: engine {expected}, records {actual}\nschema:\n{model.Schema.Text}\nrelationships:\n{string.Join("\n", engine.ReadAll())}");
                checks++;
                allowed += actual ? 1 : 0;
                maxWaves = Math.Max(maxWaves, waves);
                if (q % 10 == 9)
                {
                    AssertSameAsRebuild(seed + m, engine, stored);
                }
            }
        }

        output.WriteLine($"{checks} checks, {allowed} allowed, at most {maxWaves} fetch waves");
        Assert.InRange(allowed, checks / 20, checks - (checks / 20));
    }

    [Fact]
    public void Codec_RoundTripsEveryPart()
    {
        var schema = Schema.CompiledSchema.Compile("""
            definition user {}
            definition group {
                relation member: user | group#member
                relation everyone: user:*
                relation owner: user
                permission admin = owner
            }
            definition doc {
                relation parent: group
                relation viewer: user | group#member | group#admin
                permission view = viewer + parent->member + parent->everyone
            }
            """);
        using var engine = new PermissionEngine(schema);
        engine.Add(
            Relationship.Parse("group:eng#member@user:alice"),
            Relationship.Parse("group:all#member@group:eng#member"),
            Relationship.Parse("group:all#everyone@user:*"),
            Relationship.Parse("doc:readme#parent@group:all"),
            Relationship.Parse("doc:readme#viewer@group:eng#admin"));
        var content = engine.DescribeRecord("doc", "readme");
        var record = GraphRecordCodec.Decode(schema.RequireType("doc"), "readme", GraphRecordCodec.Encode(content), schema);
        Assert.Equal("doc:readme", record.Key);
        Assert.Equal(engine.Revision, record.Revision);
        Assert.Equal([new RecordKey(schema.RequireType("group").Index, "all")], record.Ancestors);
        Assert.Equal(["group:all#member"], engine.DescribeRecord("group", "eng").SubjectSetReach["member"]);
        Assert.Equal(["group:all#member", "group:eng#member"], engine.DescribeRecord("user", "alice").Reach);
        // A wildcard reaches no subject set: a relation a subject set names may not allow one (SpiceDB's rule).
        Assert.Empty(engine.DescribeRecord("user", "*").Reach);
        Assert.True(engine.DescribeRecord("user", "nobody").IsEmpty);
        Assert.Throws<FormatException>(() => GraphRecordCodec.Decode(schema.RequireType("doc"), "readme", "v1 3\n@nosuch user:alice\n"u8, schema));
        Assert.Throws<FormatException>(() => GraphRecordCodec.Decode(schema.RequireType("doc"), "readme", "not a record"u8, schema));
    }

    private static void Mutate(RandomModel model, PermissionEngine engine, Dictionary<(string, string), byte[]> stored, Random random)
    {
        var all = engine.ReadAll();
        Relationship? change = all.Count > 0 && random.Next(3) == 0 ? all[random.Next(all.Count)] : model.RandomRelationship();
        if (change is not { } relationship)
        {
            return;
        }

        if (all.Contains(relationship))
        {
            engine.Remove(relationship);
        }
        else
        {
            engine.Add(relationship);
        }

        foreach (var (type, id) in engine.AffectedRecords([relationship]))
        {
            var content = engine.DescribeRecord(type, id);
            if (content.IsEmpty)
            {
                stored.Remove((type, id));
            }
            else
            {
                stored[(type, id)] = GraphRecordCodec.Encode(content);
            }
        }
    }

    private static void AssertSameAsRebuild(int seed, PermissionEngine engine, Dictionary<(string, string), byte[]> stored)
    {
        var rebuilt = engine.DescribeAllRecords().ToDictionary(r => (r.Type, r.Id), r => Convert.ToBase64String(GraphRecordCodec.Encode(r)));
        foreach (var (key, bytes) in stored)
        {
            // Revisions differ (each record keeps the one it was written at); the content must not.
            var kept = RecordText(bytes);
            Assert.True(rebuilt.TryGetValue(key, out var fresh) && RecordText(Convert.FromBase64String(fresh)) == kept,
                $"model seed {seed}: record {key} kept incrementally differs from a rebuild:\n{kept}\n---\n{(fresh is null ? "(absent)" : RecordText(Convert.FromBase64String(fresh)))}");
        }

        Assert.Equal(rebuilt.Count, stored.Count);
    }

    private static string RecordText(byte[] bytes) =>
        string.Join("\n", System.Text.Encoding.UTF8.GetString(bytes).Split('\n').Skip(1));
}
