using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// authz.v1.BackupService against real servers on real databases: a backup restored into a new server answers, lists
/// and authenticates as the old one did; a restore goes only into a new database; a refused restore changes nothing.
/// </summary>
public sealed class BackupTests
{
    private const string TicketDefinition = "\ndefinition ticket {\n    relation reporter: user\n    permission view = reporter\n}\n";

    private static readonly CheckRequest[] Checks =
    [
        Check("user:alice", "view", "ticket:t1"),
        Check("user:dan", "view", "ticket:t1"),
        Check("user:zoe", "view", "project:storefront"),
        Check("user:olivia", "deploy", "application:storefront-web"),
        Check("user:alex", "deploy", "application:storefront-web"),
    ];

    [Fact]
    public async Task ABackup_RestoredIntoANewServer_AnswersListsAndAuthenticatesAsTheOld()
    {
        await using var target = TestDatabase.Create("sqlite");
        await RoundTripAsync(target);
    }

    // A SQLite server's backup into PostgreSQL: the rows cross providers (times, generated ids) as they are.
    [Fact]
    public async Task ABackupOfSqlite_RestoredIntoPostgreSql_AnswersListsAndAuthenticatesAsTheOld()
    {
        await using var target = TestDatabase.Create(Storage.StorageProvider.Postgres);
        await RoundTripAsync(target);
    }

    private static async Task RoundTripAsync(TestDatabase targetDatabase)
    {
        await using var sourceDatabase = TestDatabase.Create("sqlite");
        await using var source = await StoreServer.StartAsync(sourceDatabase);
        var schema = (await source.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema + TicketDefinition;
        await source.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = schema });
        await source.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Create, "ticket:t1#reporter@user:alice"), Update(Operation.Create, "project:storefront#viewer@user:zoe")));
        var owner = new ManagementService.ManagementServiceClient(await source.ChannelForAsync("user:olivia"));
        await owner.InviteMembersAsync(new InviteMembersRequest { Resource = Object("organization:northwind"), Emails = { "yuri@example.com" }, Roles = { "viewer" } });
        await owner.CreateResourceAsync(new CreateResourceRequest { Resource = Object("project_group:backups"), Parent = Object("project:storefront"), Name = "Backups" });
        var dan = await new ApiKeyService.ApiKeyServiceClient(source.Channel).CreateApiKeyAsync(
            new CreateApiKeyRequest { Subject = Subject("user:dan"), Kind = KeyKind.Check, Description = "dan's sidecar" });
        var answers = await Answers(source);
        var audit = await source.Store.Audit.ReadAsync();

        var backup = await ExportAsync(source);
        Assert.Equal(schema, backup[0].Header.Schema);
        Assert.Equal(1, backup.Count(i => i.Header is not null));

        await using var target = await StoreServer.StartAsync(targetDatabase);
        var reply = await RestoreAsync(target, backup);
        Assert.Equal((await target.RevisionAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture), reply.Revision);
        Assert.Equal((uint)backup.Count(i => i.Row?.Kind == "relationship"), reply.Restored["relationship"]);

        // The source's audit log, in its order, after the target's own events and before the restore's.
        var restoredAudit = await target.Store.Audit.ReadAsync(limit: 10_000);
        // Times to the microsecond, what PostgreSQL keeps.
        static (string, string, string, long) Event(Storage.AuditEvent a) => (a.Operation, a.Target, a.Actor, a.OccurredAt.Ticks / 10);
        Assert.Equal(audit.Select(Event), restoredAudit.SkipLast(1).TakeLast(audit.Count).Select(Event));
        Assert.Equal(("RestoreBackup", "backup"), (restoredAudit[^1].Operation, restoredAudit[^1].Target));

        // The same schema, relationships and answers, at the restore's revision and on.
        Assert.Equal(schema, (await target.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema);
        Assert.Equal(await Snapshot.StoredAsync(source.Store), await Snapshot.StoredAsync(target.Store));
        Assert.Equal(answers, await Answers(target));

        // The invitation, the object's record and the source's audit events came along; dan's key works there.
        var targetOwner = new ManagementService.ManagementServiceClient(await target.ChannelForAsync("user:olivia"));
        var invitations = await targetOwner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("organization:northwind") });
        Assert.Equal("yuri@example.com", Assert.Single(invitations.Invitations).Email);
        Assert.Equal("Backups", (await targetOwner.GetResourceAsync(new GetResourceRequest { Resource = Object("project_group:backups") })).Resource.Name);
        var asDan = new AuthorizationService.AuthorizationServiceClient(target.ChannelWith(dan.Key));
        Assert.Equal(Decision.Allowed, (await asDan.CheckAsync(Check("user:alice", "view", "ticket:t1"))).Decision);
        target.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task ARestore_IntoADatabaseWithWrites_IsRefusedAndChangesNothing(string provider)
    {
        await using var sourceDatabase = TestDatabase.Create(provider);
        await using var source = await StoreServer.StartAsync(sourceDatabase);
        var backup = await ExportAsync(source);
        await source.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Create, "project:storefront#viewer@user:zoe")));
        var before = await Snapshot.TakeAsync(source);

        var refused = await Assert.ThrowsAsync<RpcException>(() => RestoreAsync(source, backup));

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("new database", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await Snapshot.TakeAsync(source));
    }

    // Every kind of bad backup, into one new server: each is refused with a clear status and leaves it new, so the
    // good backup sent last still restores.
    [Fact]
    public async Task ABadBackup_IsRefusedNamingTheItem_AndLeavesTheServerNew()
    {
        await using var sourceDatabase = TestDatabase.Create("sqlite");
        await using var source = await StoreServer.StartAsync(sourceDatabase);
        var good = await ExportAsync(source);
        var header = good[0];
        var relationship = good.First(i => i.Row?.Kind == "relationship");
        BackupItem Row(string kind, string json) => new() { Row = new BackupRow { Kind = kind, Json = json } };
        (BackupItem[] Items, string Detail)[] bad =
        [
            ([], "empty"),
            ([relationship], "item 1: a backup starts with its header"),
            ([new BackupItem { Header = new BackupHeader { FormatVersion = 2, Schema = header.Header.Schema } }], "format version is 2"),
            ([header, header], "item 2: only the first item is a header"),
            ([header, Row("table", "{}")], "row 1: kind 'table'"),
            ([header, Row("relationship", "not json")], "row 1 (relationship): not a JSON object"),
            ([header, Row("relationship", "null")], "row 1 (relationship): is null"),
            ([header, Row("principal", $$"""{"subject_type":"user","subject_id":"{{new string('x', 2000)}}","email":"a@example.com"}""")], "row 1 (principal): SubjectId is 2000 characters long"),
            ([header, Row("relationship", relationship.Row.Json.Replace("\"relation\":\"", "\"relation\":\"no_such_", StringComparison.Ordinal))], "row 1 (relationship):"),
            ([new BackupItem { Header = new BackupHeader { FormatVersion = 1, Schema = "definition user {" } }], "schema:"),
        ];

        await using var targetDatabase = TestDatabase.Create("sqlite");
        await using var target = await StoreServer.StartAsync(targetDatabase);
        var before = await Snapshot.TakeAsync(target);
        foreach (var (items, detail) in bad)
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => RestoreAsync(target, items));
            Assert.True(refused.StatusCode == StatusCode.InvalidArgument, $"{detail}: {refused.Status}");
            Assert.Contains(detail, refused.Status.Detail, StringComparison.Ordinal);
            Assert.Equal(before, await Snapshot.TakeAsync(target));
        }

        await RestoreAsync(target, good);
        Assert.Equal(await Snapshot.StoredAsync(source.Store), await Snapshot.StoredAsync(target.Store));
        target.AssertNoErrors();
    }

    [Fact]
    public async Task BackupService_RefusesEveryKeyButAdmin_BeforeReadingAnything()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        foreach (var kind in new[] { KeyKind.Check, KeyKind.Management })
        {
            var client = new BackupService.BackupServiceClient(await server.ChannelForAsync("user:olivia", kind));
            var export = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = client.ExportBackup(new ExportBackupRequest());
                await call.ResponseStream.MoveNext();
            });
            Assert.Equal(StatusCode.PermissionDenied, export.StatusCode);
            using var restore = client.RestoreBackup();
            await restore.RequestStream.CompleteAsync();
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => restore.ResponseAsync)).StatusCode);
        }
    }

    private static async Task<List<BackupItem>> ExportAsync(StoreServer server)
    {
        using var call = new BackupService.BackupServiceClient(server.Channel).ExportBackup(new ExportBackupRequest());
        return await call.ResponseStream.ReadAllAsync().ToListAsync();
    }

    private static async Task<RestoreBackupResponse> RestoreAsync(StoreServer server, IEnumerable<BackupItem> items)
    {
        using var call = new BackupService.BackupServiceClient(server.Channel).RestoreBackup();
        foreach (var item in items)
        {
            await call.RequestStream.WriteAsync(item);
        }

        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    private static async Task<List<Decision>> Answers(StoreServer server)
    {
        var answers = new List<Decision>();
        foreach (var check in Checks)
        {
            var request = check.Clone();
            request.Consistency = new Consistency { FullyConsistent = true };
            answers.Add((await server.Authorization.CheckAsync(request)).Decision);
        }

        return answers;
    }
}
