using AuthzGrpc.Core;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage.Tests.Infrastructure;

namespace AuthzGrpc.Storage.Tests;

/// <summary>The store against a real database of each provider (SQLite and PostgreSQL).</summary>
public sealed class AuthzStoreTests
{
    private const string Actor = "user:tester";
    private const string Schema = "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n";

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Migrate_NewDatabase_IsEmptyAtRevisionZero(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();

        var model = await store.Model.LoadAsync();

        Assert.Null(model.SchemaText);
        Assert.Empty(model.Relationships);
        Assert.Equal(0, model.Revision);
        if (provider == "sqlite")
        {
            Assert.Equal("wal", await store.Database.JournalModeAsync());
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Load_InBatches_HandsEveryRelationshipOnce_AfterTheSchemaAndRevision(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        var seeded = Enumerable.Range(0, (2 * ModelStore.LoadBatchSize) + 7).Select(i => R($"doc:{i}#viewer@user:u{i % 10}")).ToList();
        var revision = await store.Model.SeedAsync(Schema, seeded, "system");
        var begun = new List<(string? Schema, long Revision)>();
        var batches = new List<int>();
        var loaded = new List<Relationship>();

        await store.Model.LoadAsync(
            (schema, stored) =>
            {
                begun.Add((schema, stored));
                return batch =>
                {
                    batches.Add(batch.Count);
                    loaded.AddRange(batch);
                };
            });

        Assert.Equal([(Schema, revision!.Value)], begun);
        Assert.Equal([ModelStore.LoadBatchSize, ModelStore.LoadBatchSize, 7], batches);
        Assert.Equal(seeded.Select(r => r.ToString()).Order(StringComparer.Ordinal), loaded.Select(r => r.ToString()).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Migrate_Twice_IsHarmless(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();

        await store.Database.MigrateAsync();

        Assert.Equal(0, await store.Model.CurrentRevisionAsync());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Seed_SecondTime_DoesNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();

        var first = await store.Model.SeedAsync(Schema, [R("doc:1#viewer@user:alice"), R("doc:1#viewer@user:alice")], "system");
        var second = await store.Model.SeedAsync("definition other {}", [R("doc:2#viewer@user:bob")], "system");

        Assert.Equal(1, first);
        Assert.Null(second);
        var model = await store.Model.LoadAsync();
        Assert.Equal(Schema, model.SchemaText);
        Assert.Equal([R("doc:1#viewer@user:alice")], model.Relationships);
        Assert.Equal(1, model.Revision);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WriteRelationships_RecordsNetChangesAndAudit_AtConsecutiveRevisions(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        await store.Model.SeedAsync(Schema, [R("doc:1#viewer@user:alice")], "system");

        var second = await store.Model.WriteRelationshipsAsync(
            [Touch("doc:1#viewer@user:alice"), Touch("doc:1#viewer@user:bob"), Delete("doc:9#viewer@user:nobody")], [], Actor);
        var third = await store.Model.WriteRelationshipsAsync(
            [Delete("doc:1#viewer@user:alice"), Touch("doc:2#viewer@group:eng#member"), Delete("doc:2#viewer@group:eng#member")], [], Actor);

        Assert.Equal((2, 3), (second, third));
        var changes = await store.Model.ReadChangesAsync(afterRevision: 1);
        Assert.Equal([2L, 3L], changes.Select(c => c.Revision));
        Assert.Equal([new StoredChange(RelationshipOperation.Touch, R("doc:1#viewer@user:bob"))], changes[0].Changes);
        Assert.Equal([new StoredChange(RelationshipOperation.Delete, R("doc:1#viewer@user:alice"))], changes[1].Changes);
        Assert.All(changes, c => Assert.Equal((Actor, "WriteRelationships"), (c.Actor, c.Operation)));
        var audit = (await store.Audit.ReadAsync()).Where(a => a.Revision >= 2).ToList();
        Assert.Equal(2, audit.Count);
        Assert.Equal("[\"doc:1#viewer@user:bob\"]", audit[0].After);
        Assert.Equal("[\"doc:1#viewer@user:alice\"]", audit[1].Before);
        Assert.Equal([R("doc:1#viewer@user:bob")], (await store.Model.LoadAsync()).Relationships);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AWrite_JudgedAtAnOlderRevision_IsAConflict_AndChangesNothing_WhileOneJudgedAtTheNewestCommits(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        await store.Model.SeedAsync(Schema, [R("doc:1#viewer@user:alice")], "system");
        var judged = await store.Model.CurrentRevisionAsync();
        var meanwhile = await store.Model.WriteRelationshipsAsync([Touch("doc:1#viewer@user:bob")], [], Actor);

        using (store.Database.JudgedAt(judged))
        {
            var conflict = await Assert.ThrowsAsync<WriteConflictException>(() => store.Model.WriteRelationshipsAsync([Touch("doc:1#viewer@user:carol")], [], Actor));
            Assert.Equal((judged, meanwhile), (conflict.JudgedAt, conflict.Committed));
        }

        Assert.Equal(meanwhile, await store.Model.CurrentRevisionAsync());
        Assert.DoesNotContain(R("doc:1#viewer@user:carol"), (await store.Model.LoadAsync()).Relationships);
        using (store.Database.JudgedAt(meanwhile))
        {
            Assert.Equal(meanwhile + 1, await store.Model.WriteRelationshipsAsync([Touch("doc:1#viewer@user:carol")], [], Actor));
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Create_OfStoredRelationship_IsAlreadyExists_AndChangesNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        await store.Model.SeedAsync(Schema, [R("doc:1#viewer@user:alice")], "system");

        var error = await Assert.ThrowsAsync<AuthzException>(() => store.Model.WriteRelationshipsAsync(
            [Touch("doc:1#viewer@user:bob"), Create("doc:1#viewer@user:alice")], [], Actor));

        Assert.Equal(AuthzErrorKind.AlreadyExists, error.Kind);
        await AssertUnchanged(store, 1, [R("doc:1#viewer@user:alice")], auditEvents: 2);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Preconditions_Broken_FailNamingThePrecondition_AndChangeNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        await store.Model.SeedAsync(Schema, [R("doc:1#viewer@user:alice")], "system");

        var mustMatch = await Assert.ThrowsAsync<AuthzException>(() => store.Model.WriteRelationshipsAsync(
            [Touch("doc:1#viewer@user:bob")],
            [new StorePrecondition(PreconditionKind.MustMatch, new RelationshipFilter("doc", "1")),
             new StorePrecondition(PreconditionKind.MustMatch, new RelationshipFilter("doc", "1", "viewer", new SubjectFilter("user", "carol")))],
            Actor));
        var mustNotMatch = await Assert.ThrowsAsync<AuthzException>(() => store.Model.DeleteRelationshipsAsync(
            new RelationshipFilter("doc"),
            [new StorePrecondition(PreconditionKind.MustNotMatch, new RelationshipFilter("doc", Subject: new SubjectFilter("user", null, "")))],
            Actor));

        Assert.Equal(AuthzErrorKind.FailedPrecondition, mustMatch.Kind);
        Assert.Contains("preconditions[1]", mustMatch.Message, StringComparison.Ordinal);
        Assert.Contains("doc:1#viewer@user:carol", mustMatch.Message, StringComparison.Ordinal);
        Assert.Contains("preconditions[0]", mustNotMatch.Message, StringComparison.Ordinal);
        await AssertUnchanged(store, 1, [R("doc:1#viewer@user:alice")], auditEvents: 2);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Preconditions_Holding_LetTheWriteCommit(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        await store.Model.SeedAsync(Schema, [R("doc:1#viewer@user:alice")], "system");

        var revision = await store.Model.WriteRelationshipsAsync(
            [Touch("doc:1#viewer@user:bob")],
            [new StorePrecondition(PreconditionKind.MustMatch, new RelationshipFilter("doc", "1", "viewer", new SubjectFilter("user", "alice", ""))),
             new StorePrecondition(PreconditionKind.MustNotMatch, new RelationshipFilter("doc", "1", "viewer", new SubjectFilter("user", "bob")))],
            Actor);

        Assert.Equal(2, revision);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ReadRelationships_ByFilter_SelectsExactly(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        Relationship[] all =
        [
            R("doc:1#viewer@user:alice"), R("doc:1#viewer@group:eng#member"), R("doc:2#viewer@user:alice"),
            R("doc:2#owner@user:bob"), R("folder:1#viewer@user:alice"), R("doc:3#viewer@user:*"),
        ];
        await store.Model.SeedAsync(Schema, all, "system");

        Assert.Equal(5, (await store.Model.ListRelationshipsAsync(new RelationshipFilter("doc"))).Count);
        Assert.Equal(2, (await store.Model.ListRelationshipsAsync(new RelationshipFilter("doc", "1"))).Count);
        Assert.Equal(
            [R("doc:1#viewer@user:alice"), R("doc:2#viewer@user:alice")],
            await store.Model.ListRelationshipsAsync(new RelationshipFilter("doc", null, "viewer", new SubjectFilter("user", "alice"))));
        Assert.Equal(
            [R("doc:1#viewer@group:eng#member")],
            await store.Model.ListRelationshipsAsync(new RelationshipFilter("doc", Subject: new SubjectFilter("group", null, "member"))));
        Assert.Equal(4, (await store.Model.ListRelationshipsAsync(new RelationshipFilter("doc", Subject: new SubjectFilter("user", null, "")))).Count);
        Assert.Equal(
            [R("doc:3#viewer@user:*")],
            await store.Model.ListRelationshipsAsync(new RelationshipFilter("doc", Subject: new SubjectFilter("user", "*"))));
        Assert.Empty(await store.Model.ListRelationshipsAsync(new RelationshipFilter("nothing")));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task DeleteRelationships_ByFilter_ReturnsDeleted_AndLogsThem(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        await store.Model.SeedAsync(Schema, [R("doc:1#viewer@user:alice"), R("doc:1#viewer@user:bob"), R("doc:2#viewer@user:alice")], "system");

        var deletion = await store.Model.DeleteRelationshipsAsync(new RelationshipFilter("doc", "1"), [], Actor);
        var none = await store.Model.DeleteRelationshipsAsync(new RelationshipFilter("doc", "42"), [], Actor);

        Assert.Equal(2, deletion.Revision);
        Assert.Equal(2, deletion.Deleted.Count);
        Assert.Equal(3, none.Revision);
        Assert.Empty(none.Deleted);
        Assert.Equal([R("doc:2#viewer@user:alice")], (await store.Model.LoadAsync()).Relationships);
        var changes = await store.Model.ReadChangesAsync(1);
        Assert.Equal(2, changes[0].Changes.Count);
        Assert.All(changes[0].Changes, c => Assert.Equal(RelationshipOperation.Delete, c.Operation));
        Assert.Empty(changes[1].Changes);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WriteSchema_OrphaningRelationships_IsRefusedUnlessForced(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        var seeded = Enumerable.Range(0, 12).Select(i => R($"doc:{i}#viewer@user:alice")).Append(R("folder:1#viewer@user:alice")).ToList();
        await store.Model.SeedAsync(Schema, seeded, "system");
        static string? NoDocs(Relationship r) => r.Resource.Type == "doc" ? $"{r}: no doc" : null;

        var refused = await Assert.ThrowsAsync<AuthzException>(() => store.Model.WriteSchemaAsync("definition folder {}", NoDocs, force: false, Actor));
        var forced = await store.Model.WriteSchemaAsync("definition folder {}", NoDocs, force: true, Actor);

        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.Contains("12 stored relationship", refused.Message, StringComparison.Ordinal);
        Assert.Contains("doc:0#viewer@user:alice: no doc", refused.Message, StringComparison.Ordinal);
        Assert.Contains("and 2 more", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, forced.Revision);
        Assert.Equal(12, forced.Deleted.Count);
        Assert.Equal([R("folder:1#viewer@user:alice")], forced.Remaining);
        var model = await store.Model.LoadAsync();
        Assert.Equal("definition folder {}", model.SchemaText);
        Assert.Equal([R("folder:1#viewer@user:alice")], model.Relationships);
        Assert.Equal(2, (await store.Model.ReadSchemaVersionsAsync()).Count);
        Assert.Contains(await store.Audit.ReadAsync(), a => a.Operation == "WriteSchema" && a.Revision == 2 && a.Before == Schema);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ConcurrentWrites_FromTwoStoresOnOneDatabase_GetGapFreeRevisions(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        // Two stores stand for two processes: each has its own gate, so only the database's write lock serializes them.
        await using var first = await database.CreateMigratedStoreAsync();
        await using var second = database.CreateStore();
        await first.Model.SeedAsync(Schema, [], "system");

        var writes = Enumerable.Range(0, 60).Select(i => Task.Run(() =>
            (i % 2 == 0 ? first : second).Model.WriteRelationshipsAsync(
                [i % 3 == 2 ? Delete($"doc:{i % 5}#viewer@user:u{i % 4}") : Touch($"doc:{i % 5}#viewer@user:u{i % 4}")], [], Actor)));
        var revisions = await Task.WhenAll(writes);

        Assert.Equal(Enumerable.Range(2, 60).Select(i => (long)i), revisions.Order());
        var changes = await first.Model.ReadChangesAsync(1);
        Assert.Equal(Enumerable.Range(2, 60).Select(i => (long)i), changes.Select(c => c.Revision));
        var replayed = new HashSet<Relationship>();
        foreach (var change in changes.SelectMany(c => c.Changes))
        {
            Assert.True(change.Operation == RelationshipOperation.Delete ? replayed.Remove(change.Relationship) : replayed.Add(change.Relationship));
        }

        Assert.Equal(Sorted(replayed), Sorted((await first.Model.LoadAsync()).Relationships));
    }

    private static async Task AssertUnchanged(AuthzStore store, long revision, Relationship[] relationships, int auditEvents)
    {
        var model = await store.Model.LoadAsync();
        Assert.Equal(revision, model.Revision);
        Assert.Equal(Sorted(relationships), Sorted(model.Relationships));
        Assert.Equal(revision, (await store.Model.ReadChangesAsync(0)).Count);
        Assert.Equal(auditEvents, (await store.Audit.ReadAsync()).Count);
    }

    private static List<string> Sorted(IEnumerable<Relationship> relationships) =>
        [.. relationships.Select(r => r.ToString()).Order(StringComparer.Ordinal)];

    private static Relationship R(string text) => Relationship.Parse(text);

    private static RelationshipUpdate Touch(string text) => new(RelationshipOperation.Touch, R(text));

    private static RelationshipUpdate Create(string text) => new(RelationshipOperation.Create, R(text));

    private static RelationshipUpdate Delete(string text) => new(RelationshipOperation.Delete, R(text));
}
