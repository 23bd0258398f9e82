using System.Globalization;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AuthzGrpc.Storage.Tests;

/// <summary>The seed of a new database, streamed in batches inside one transaction, against each provider.</summary>
public sealed class SeedTests
{
    private const string Schema = "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n";

    // More than three batches, so batches meet duplicates of earlier batches and a failure comes after several.
    private const int Distinct = (3 * ModelStore.SeedBatchSize) + 1_234;

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Seed_OfSeveralBatchesWithDuplicates_StoresEachRelationshipOnce_AtOneRevision(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        var expected = Enumerable.Range(0, Distinct).Select(Viewer).ToList();

        var revision = await store.Model.SeedAsync(Schema, WithDuplicates(expected), "system", "big.relationships");

        Assert.Equal(1, revision);
        var model = await store.Model.LoadAsync();
        Assert.Equal(1, model.Revision);
        Assert.Equal(Distinct, model.Relationships.Count);
        Assert.True(model.Relationships.ToHashSet().SetEquals(expected));

        // The change log replays to exactly what is stored: one touch per relationship, at the seed's revision.
        var changes = Assert.Single(await store.Model.ReadChangesAsync(0));
        Assert.Equal((1L, ModelStore.SeedOperation), (changes.Revision, changes.Operation));
        Assert.Equal(Distinct, changes.Changes.Count);
        Assert.All(changes.Changes, c => Assert.Equal(RelationshipOperation.Touch, c.Operation));
        Assert.True(changes.Changes.Select(c => c.Relationship).ToHashSet().SetEquals(expected));

        // The audit log holds how many and from where, not the relationships.
        var audit = await store.Audit.ReadAsync();
        Assert.Equal(["WriteSchema", ModelStore.SeedOperation], audit.Select(a => a.Operation));
        var seed = audit[1];
        Assert.Equal((1L, "system", "big.relationships"), (seed.Revision, seed.Actor, seed.Target));
        Assert.Equal($"{{\"file\":\"big.relationships\",\"relationships\":{Distinct.ToString(CultureInfo.InvariantCulture)}}}", seed.After);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Seed_FailingPastTheFirstBatches_StoresNothing_AndConsumesNoRevision(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.Model.SeedAsync(Schema, FailingAfter(Enumerable.Range(0, Distinct).Select(Viewer)), "system", "bad.relationships"));

        var model = await store.Model.LoadAsync();
        Assert.Null(model.SchemaText);
        Assert.Empty(model.Relationships);
        Assert.Equal(0, model.Revision);
        Assert.Empty(await store.Model.ReadChangesAsync(0));
        Assert.Empty(await store.Audit.ReadAsync());

        // The database is still new: the next seed is the first.
        Assert.Equal(1, await store.Model.SeedAsync(Schema, [Viewer(1)], "system"));
        Assert.Equal([Viewer(1)], (await store.Model.LoadAsync()).Relationships);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Seed_RelationshipGivenTwice_KeepsTheFirstOnesExpiryAndCaveat_AndLogsItOnce(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();

        // Whole microseconds, which PostgreSQL keeps exactly, so what is read back is what was given.
        var first = new[]
        {
            R("doc:a#viewer@user:alice[on_weekdays:{\"tz\":\"UTC\"}][expiration:2030-01-02T03:04:05.123456Z]"),
            R("doc:b#viewer@user:bob"),
            R("doc:c#viewer@user:carol[on_weekdays]"),
            R("doc:d#viewer@user:dave[expiration:2031-05-06T07:08:09Z]"),
        };

        // Each given again with other attributes: at once (the same batch) and after a full batch (a later one).
        var filler = Enumerable.Range(0, ModelStore.SeedBatchSize).Select(Viewer).ToList();
        var again = new[]
        {
            R("doc:a#viewer@user:alice[expiration:2040-01-01T00:00:00Z]"),
            R("doc:b#viewer@user:bob[on_weekdays:{\"tz\":\"CET\"}][expiration:2040-01-01T00:00:00Z]"),
            R("doc:c#viewer@user:carol"),
            R("doc:d#viewer@user:dave[on_weekdays]"),
        };
        IEnumerable<Relationship> Given()
        {
            for (var i = 0; i < first.Length; i++)
            {
                yield return first[i];
                yield return again[i];
            }

            foreach (var relationship in filler.Concat(again).Concat(first))
            {
                yield return relationship;
            }
        }

        Assert.Equal(1, await store.Model.SeedAsync(Schema, Given(), "system", "dup.relationships"));

        var stored = (await store.Model.LoadAsync()).Relationships.ToDictionary(r => r);
        Assert.Equal(first.Length + filler.Count, stored.Count);
        Assert.Equal(first.Select(r => r.ToString()), first.Select(r => stored[r].ToString()));

        // One touch per stored relationship, none for a duplicate, in the order first given, with the first's attributes.
        var changes = Assert.Single(await store.Model.ReadChangesAsync(0)).Changes;
        Assert.All(changes, c => Assert.Equal(RelationshipOperation.Touch, c.Operation));
        Assert.Equal(first.Concat(filler).Select(r => r.ToString()), changes.Select(c => c.Relationship.ToString()));
        Assert.Equal((stored.Count, 0L, stored.Count - 1L, stored.Count), await SequencesAsync(store));

        var audit = await store.Audit.ReadAsync();
        Assert.Equal($"{{\"file\":\"dup.relationships\",\"relationships\":{stored.Count.ToString(CultureInfo.InvariantCulture)}}}", audit[^1].After);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Seed_StoresTheRawColumnsANormalWriteStores(string provider)
    {
        // Every kind of column value: subject relation or none, expiry with 7, 6, 1 or no fractional digits, caveat with
        // a context, with none, or none at all, text beyond ASCII.
        Relationship[] relationships =
        [
            R("doc:1#viewer@user:alice"),
            R("doc:1#viewer@group:eng#member"),
            R("doc:2#viewer@user:bob[expiration:2030-01-02T03:04:05.1234567Z]"),
            R("doc:2#viewer@user:carol[expiration:2030-01-02T03:04:05.5Z]"),
            R("doc:3#viewer@user:dave[expiration:2031-05-06T07:08:09Z]"),
            R("doc:3#viewer@user:erin[on_weekdays:{\"tz\":\"UTC\",\"days\":[1,2,3],\"n\":1.5}]"),
            R("doc:4#viewer@user:frank[on_weekdays]"),
            R("doc:4#viewer@user:gina[on_weekdays:{\"tz\":\"CET\"}][expiration:2032-12-31T23:59:59.999999Z]"),
            R("doc:5#viewer@user:a.b/c|d=e+f_g-h[on_weekdays:{\"who\":\"h\u00e9l\u00e8ne\"}]"),
        ];

        await using var seededDatabase = TestDatabase.Create(provider);
        await using var seeded = await seededDatabase.CreateMigratedStoreAsync();
        await using var writtenDatabase = TestDatabase.Create(provider);
        await using var written = await writtenDatabase.CreateMigratedStoreAsync();

        Assert.Equal(1, await seeded.Model.SeedAsync(Schema, relationships, "system"));
        Assert.Equal(1, await written.Model.WriteRelationshipsAsync(
            [.. relationships.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r))], [], "system"));

        foreach (var (table, extra) in new[] { ("relationships", new[] { "created_revision" }), ("revision_changes", ["revision", "operation"]) })
        {
            var expected = await RawRowsAsync(written, table, extra);
            var actual = await RawRowsAsync(seeded, table, extra);
            Assert.Equal(relationships.Length, expected.Count);
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i], actual[i]);
            }
        }
    }

    // The relationship columns (and `extra`) of every row of `table`, each as its stored type and text, sorted.
    private static async Task<List<string>> RawRowsAsync(AuthzStore store, string table, params string[] extra)
    {
        string[] columns = ["resource_type", "resource_id", "relation", "subject_type", "subject_id", "subject_relation", "expires_at", "caveat_name", "caveat_context", .. extra];
        var sqlite = store.Database.Provider == StorageProvider.Sqlite;
        var select = string.Join(" || '|' || ", columns.Select(c => sqlite
            ? $"typeof({c}) || ':' || quote({c})"
            : $"pg_typeof({c})::text || ':' || coalesce(quote_literal({c}), 'NULL')"));
        var rows = new List<string>();
        var context = store.Database.OpenContext();
        await using (context)
        {
            await context.Database.OpenConnectionAsync();
            await using var command = context.Database.GetDbConnection().CreateCommand();
            command.CommandText = $"SELECT {select} FROM {table}";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    // The seed's change log sequences: how many, the least, the greatest, how many distinct.
    private static async Task<(int Count, long Min, long Max, int Distinct)> SequencesAsync(AuthzStore store)
    {
        var context = store.Database.OpenContext();
        await using (context)
        {
            var sequences = await context.Changes.AsNoTracking().Where(c => c.Revision == 1).Select(c => c.Sequence).ToListAsync();
            return (sequences.Count, sequences.Min(), sequences.Max(), sequences.Distinct().Count());
        }
    }

    private static Relationship R(string text) => Relationship.Parse(text);

    private static Relationship Viewer(int i) =>
        new(new ObjectRef("doc", $"d{i / 10}"), "viewer", new SubjectRef("user", $"u{i % 1000}", null));

    // Every relationship, each 7th again at once (a duplicate in the same batch) and each 5th again after all of them
    // (a duplicate of an earlier batch).
    private static IEnumerable<Relationship> WithDuplicates(List<Relationship> relationships)
    {
        for (var i = 0; i < relationships.Count; i++)
        {
            yield return relationships[i];
            if (i % 7 == 0)
            {
                yield return relationships[i];
            }
        }

        for (var i = 0; i < relationships.Count; i += 5)
        {
            yield return relationships[i];
        }
    }

    private static IEnumerable<Relationship> FailingAfter(IEnumerable<Relationship> relationships)
    {
        foreach (var relationship in relationships)
        {
            yield return relationship;
        }

        throw new InvalidOperationException("a line past the first batches does not parse");
    }
}
