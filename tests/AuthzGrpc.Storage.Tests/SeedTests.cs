using System.Globalization;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage.Tests.Infrastructure;

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
