using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace AuthzGrpc.Storage.Tests;

/// <summary>
/// The database's identity and the revisions' markers, which bind the shared graph in Redis to one database and one
/// history of it (docs/SHARED-GRAPH.md), against a real database of each provider.
/// </summary>
public sealed class DatabaseIdentityTests
{
    private const string Schema = "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n";

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task DatabaseId_IsGivenAtFirstStart_KeptByEveryLaterStore_AndDiffersBetweenDatabases(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var other = TestDatabase.Create(provider);
        string first;
        await using (var store = await database.CreateMigratedStoreAsync())
        {
            first = await store.Database.DatabaseIdAsync();
            await store.Model.SeedAsync(Schema, [], "system");
        }

        await using var restarted = await database.CreateMigratedStoreAsync();
        await using var otherStore = await other.CreateMigratedStoreAsync();

        Assert.Matches("^[0-9a-f]{32}$", first);
        Assert.Equal(first, await restarted.Database.DatabaseIdAsync());
        Assert.NotEqual(first, await otherStore.Database.DatabaseIdAsync());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task DatabaseFromBeforeIdentities_GetsOneWhenMigrated_AndKeepsIt(string provider)
    {
        await using var database = TestDatabase.Create(provider);

        // A database as the previous release left it: migrated up to the migration before DatabaseIdentity.
        await using (var context = CreateContext(database))
        {
            await context.GetService<IMigrator>().MigrateAsync("InvitationGrantsAndKeyEmails");
            Assert.DoesNotContain(await context.Database.GetAppliedMigrationsAsync(), m => m.EndsWith("_DatabaseIdentity", StringComparison.Ordinal));
        }

        await using var upgraded = await database.CreateMigratedStoreAsync();
        var id = await upgraded.Database.DatabaseIdAsync();
        await using var again = await database.CreateMigratedStoreAsync();

        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(id, await again.Database.DatabaseIdAsync());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task EveryRevision_CommitsWithItsOwnMarker_AndAMissingRevisionHasNone(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var store = await database.CreateMigratedStoreAsync();
        await store.Model.SeedAsync(Schema, [Relationship.Parse("doc:1#viewer@user:alice")], "system");
        await store.Model.WriteRelationshipsAsync([new RelationshipUpdate(RelationshipOperation.Touch, Relationship.Parse("doc:1#viewer@user:bob"))], [], "user:tester");

        var seed = await store.Database.RevisionMarkerAsync(1);
        var write = await store.Database.RevisionMarkerAsync(2);

        Assert.Matches("^[0-9a-f]{32}$", seed);
        Assert.Matches("^[0-9a-f]{32}$", write);
        Assert.NotEqual(seed, write);
        Assert.Equal(string.Empty, await store.Database.RevisionMarkerAsync(0));
        Assert.Null(await store.Database.RevisionMarkerAsync(3));
    }

    private static AuthzDbContext CreateContext(TestDatabase database) => database.Provider == StorageProvider.Sqlite
        ? new SqliteAuthzDbContext(new DbContextOptionsBuilder<SqliteAuthzDbContext>().UseSqlite(database.ConnectionString).Options)
        : new PostgresAuthzDbContext(new DbContextOptionsBuilder<PostgresAuthzDbContext>().UseNpgsql(database.ConnectionString).Options);
}
