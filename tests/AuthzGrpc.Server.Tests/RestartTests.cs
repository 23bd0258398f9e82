using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>A restart loses nothing: schema, relationships, revision, audit log and every answer come back the same.</summary>
public sealed class RestartTests
{
    private const string TicketDefinition = "\ndefinition ticket {\n    relation reporter: user\n    relation watcher: user | group#member\n    permission view = reporter + watcher\n}\n";

    private static readonly CheckRequest[] Checks =
    [
        Check("user:alice", "view", "ticket:t1"),
        Check("user:dan", "view", "ticket:t1"),
        Check("user:zoe", "view", "project:storefront"),
        Check("user:victor", "view", "project:storefront"),
        Check("user:bella", "manage_billing", "organization:northwind"),
        Check("user:olivia", "deploy", "application:storefront-web"),
        Check("user:alex", "deploy", "application:storefront-web"),
    ];

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Restart_AfterSchemaAndRelationshipWrites_ReadsEverythingBack(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        var server = await StoreServer.StartAsync(database);
        try
        {
            var schema = (await server.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema + TicketDefinition;
            Assert.Equal("2", (await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = schema })).Revision);
            Assert.Equal("3", (await server.Relationships.WriteRelationshipsAsync(Write(
                Update(Operation.Create, "ticket:t1#reporter@user:alice"),
                Update(Operation.Touch, "ticket:t1#watcher@group:platform#member"),
                Update(Operation.Create, "project:storefront#viewer@user:zoe"),
                Update(Operation.Delete, "organization:northwind#viewer@user:victor")))).Revision);
            Assert.Equal("4", (await server.Relationships.DeleteRelationshipsAsync(
                new DeleteRelationshipsRequest { Filter = Filter("organization", "northwind", "flag_billing") })).Revision);
            var before = await Snapshot.TakeAsync(server);
            var answers = await Answers(server);
            Assert.Equal(
                [Decision.Allowed, Decision.Allowed, Decision.Allowed, Decision.Denied, Decision.Denied, Decision.Allowed, Decision.Denied],
                answers.Select(a => a.Item1));
            var audit = await server.Store.Audit.ReadAsync();
            var changes = await server.Store.Model.ReadChangesAsync(0);
            server.AssertNoErrors();

            server = await server.RestartAsync();

            var after = await Snapshot.TakeAsync(server);
            Assert.Equal(before, after);
            Assert.Equal(schema, after.Schema);
            Assert.Equal(("4", 4L), (after.SchemaRevision, after.StoredRevision));
            Assert.Equal(answers, await Answers(server));
            Assert.Equal(audit, await server.Store.Audit.ReadAsync());
            Assert.Equal(
                [("Seed", 1L), ("WriteSchema", 2L), ("WriteRelationships", 3L), ("DeleteRelationships", 4L)],
                (await server.Store.Model.ReadChangesAsync(0)).Select(c => (c.Operation, c.Revision)));
            Assert.Equal(changes.SelectMany(c => c.Changes), (await server.Store.Model.ReadChangesAsync(0)).SelectMany(c => c.Changes));
            Assert.Contains(audit, a => a.Operation == "WriteSchema" && a.Revision == 2 && a.After == schema);
            Assert.Contains(audit, a => a.Operation == "WriteRelationships" && a.Revision == 3 && a.Before!.Contains("organization:northwind#viewer@user:victor", StringComparison.Ordinal));
            Assert.Contains(audit, a => a.Operation == "DeleteRelationships" && a.Revision == 4 && a.Before!.Contains("flag_billing@user:bella", StringComparison.Ordinal));

            // Loaded from storage, not seeded again; and the next write continues the revisions.
            var events = server.Logs.Since(0).Select(e => e.EventId.Name).ToList();
            Assert.Contains("ModelLoadedFromStorage", events);
            Assert.DoesNotContain("StorageSeeded", events);
            Assert.Equal("5", (await server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "ticket:t2#reporter@user:alice")))).Revision);
            server.AssertNoErrors();
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Restart_KeepsManagementState_RecordsInvitationsWithTheirGrants_AndKeyEmails(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        var server = await StoreServer.StartAsync(database);
        try
        {
            var olivia = new ManagementService.ManagementServiceClient(await server.ChannelForAsync("user:olivia"));
            await olivia.CreateResourceAsync(new CreateResourceRequest
            {
                Resource = Object("project_group:qa"), Parent = Object("project:storefront"), Name = "QA", Description = "Release testing",
            });
            var invite = new InviteMembersRequest { Resource = Object("project:storefront"), Emails = { "zoe@example.com" }, Roles = { "viewer" } };
            invite.Grants.Add(new RoleChange { Resource = Object("environment_type:storefront_development"), Mode = RoleChangeMode.Grant, Roles = { "contributor" } });
            var token = (await olivia.InviteMembersAsync(invite)).Invitations[0].Token;
            var zoeKey = (await new ApiKeyService.ApiKeyServiceClient(server.Channel).CreateApiKeyAsync(new CreateApiKeyRequest
            {
                Subject = Subject("user:zoe"), Kind = KeyKind.Management, Email = "zoe@example.com",
            })).Key;

            server = await server.RestartAsync();

            var admin = new ManagementService.ManagementServiceClient(server.Channel);
            var group = (await admin.GetResourceAsync(new GetResourceRequest { Resource = Object("project_group:qa") })).Resource;
            Assert.Equal(("QA", "Release testing"), (group.Name, group.Description));
            var pending = Assert.Single((await admin.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("project:storefront") })).Invitations);
            Assert.Equal(("zoe@example.com", "environment_type:storefront_development", "contributor"), (pending.Email, Text(Assert.Single(pending.Grants).Resource), pending.Grants[0].Roles.Single()));

            // The key kept its verified email: the invitee accepts with it, and every grant is made.
            var accepted = await new ManagementService.ManagementServiceClient(server.ChannelWith(zoeKey)).AcceptInvitationAsync(new AcceptInvitationRequest { Token = token });
            Assert.Contains("environment_type:storefront_development#contributor@user:zoe", accepted.Changes.Added.Select(Text));
            Assert.Contains("project:storefront#viewer@user:zoe", accepted.Changes.Added.Select(Text));
            server.AssertNoErrors();
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restart_WithOtherModelFiles_KeepsTheStoredModel()
    {
        await using var database = TestDatabase.Create("sqlite");
        var server = await StoreServer.StartAsync(database);
        try
        {
            var stored = await server.Schema.ReadSchemaAsync(new ReadSchemaRequest());
            await server.DisposeAsync();

            // The files only seed a new database: a restart pointing at another model still serves the stored one.
            server = await StoreServer.StartAsync(database, new Dictionary<string, string?>
            {
                ["Authz:SchemaFile"] = ServerFixture.ModelPath("004-team-hierarchy.zed"),
                ["Authz:RelationshipsFile"] = "",
            });

            Assert.Equal(stored, await server.Schema.ReadSchemaAsync(new ReadSchemaRequest()));
            Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"))).Decision);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task<List<(Decision, string)>> Answers(StoreServer server)
    {
        var results = new List<(Decision, string)>();
        foreach (var check in Checks)
        {
            var response = await server.Authorization.CheckAsync(check);
            results.Add((response.Decision, response.Revision));
        }

        return results;
    }
}
