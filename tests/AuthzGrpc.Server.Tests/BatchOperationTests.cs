using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The operations the seeds describe that take one call each, on a seed model's own data through the generated client
/// against a real server: a batch invitation with a different role per invitee, all or nothing (002, A002-8); removing
/// several users at once with the cascade (003); reading back an environment's type and production mark (003, R22); and
/// an invitation into a project refused when made to a Manage-users holder who is not a project admin (A003-4).
/// </summary>
public sealed class BatchOperationTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];

    [Fact]
    public async Task InviteMembers_002_ARolePerInvitee_OneRefusedInviteeCreatesNone()
    {
        var server = await StartAsync("002-org-roles.yaml");
        var batch = new InviteMembersRequest
        {
            Resource = Object("organization:acme"),
            Invitees = { Invitee("kim@example.com", "viewer"), Invitee("lee@example.com", "admin"), Invitee("max@example.com", "owner") },
        };

        // An Admin may invite Viewers and Admins but not an Owner (R15, R20): the whole list is refused, naming max.
        var adam = await ClientAsync(server, "user:adam_admin");
        var before = await server.RevisionAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(() => adam.InviteMembersAsync(batch).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("invitees[2] (max@example.com)", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await server.RevisionAsync());
        var olivia = await ClientAsync(server, "user:olivia_owner");
        Assert.Empty((await olivia.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("organization:acme"), IncludeClosed = true })).Invitations);

        // The Owner sends the same list: one invitation per address, each with its own role.
        var sent = await olivia.InviteMembersAsync(batch);
        Assert.Equal(["kim@example.com", "lee@example.com", "max@example.com"], sent.Invitations.Select(i => i.Email));
        var listed = (await olivia.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("organization:acme") })).Invitations;
        Assert.Equal(
            ["kim@example.com:viewer", "lee@example.com:admin", "max@example.com:owner"],
            listed.Select(i => $"{i.Email}:{string.Join(",", i.Roles)}").Order(StringComparer.Ordinal));

        // Each accepts its own role and nothing else.
        var lee = await ClientAsync(server, "user:lee", "lee@example.com");
        var accepted = await lee.AcceptInvitationAsync(new AcceptInvitationRequest { Token = sent.Invitations[1].Token });
        var check = await server.Authorization.CheckAsync(WithConsistency(Check("user:lee", "manage_users", "organization:acme"), new Consistency { AtLeast = accepted.Changes.Revision }));
        Assert.Equal(Decision.Allowed, check.Decision);
        Assert.DoesNotContain(accepted.Changes.Added, r => r.Relation == "owner");
    }

    [Fact]
    public async Task InviteMembers_002_InviteesWithEmails_DuplicatesAndPendingOnes_AreRefusedWhole()
    {
        var server = await StartAsync("002-org-roles.yaml");
        var olivia = await ClientAsync(server, "user:olivia_owner");

        // A comma list with a shared role and invitees with their own, in one call.
        var sent = await olivia.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("organization:acme"), Emails = { "ann@example.com,bo@example.com" }, Roles = { "viewer" },
            Invitees = { Invitee("cy@example.com", "contributor") },
        });
        Assert.Equal(3, sent.Invitations.Count);

        // The same address twice in one call is malformed, whatever the roles.
        var before = await server.RevisionAsync();
        var duplicate = await Assert.ThrowsAsync<RpcException>(() => olivia.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("organization:acme"), Emails = { "dee@example.com" }, Roles = { "viewer" }, Invitees = { Invitee("DEE@example.com", "admin") },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, duplicate.StatusCode);

        // An invitee already pending: FAILED_PRECONDITION, and the other invitee of the call is not invited either.
        var pending = await Assert.ThrowsAsync<RpcException>(() => olivia.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("organization:acme"), Invitees = { Invitee("eve@example.com", "viewer"), Invitee("cy@example.com", "admin") },
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, pending.StatusCode);
        Assert.Equal(before, await server.RevisionAsync());
        var listed = (await olivia.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("organization:acme") })).Invitations;
        Assert.DoesNotContain(listed, i => i.Email == "eve@example.com");

        // An unknown role is INVALID_ARGUMENT even for a caller who could not invite anyway.
        var carl = await ClientAsync(server, "user:carl_contributor");
        var unknown = await Assert.ThrowsAsync<RpcException>(() => carl.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("organization:acme"), Invitees = { Invitee("fay@example.com", "viewer"), Invitee("gus@example.com", "superuser") },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
    }

    [Fact]
    public async Task InviteMembers_003_AManageUsersHolderIsRefusedWhenInvitingIntoAProject_AProjectAdminIsNot()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var mike = await ClientAsync(server, "user:mike_members");
        var before = await server.RevisionAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(() => mike.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("project:web"), Emails = { "zoe@example.com" }, Roles = { "viewer" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("invite by", refused.Status.Detail, StringComparison.Ordinal);

        // Nor by an organization invitation carrying a project role; the organization invitation alone is his to make.
        var viaOrganization = await Assert.ThrowsAsync<RpcException>(() => mike.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("organization:acme"), Emails = { "zoe@example.com" }, Roles = { "member" }, Grants = { Grant("project:web", "viewer") },
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, viaOrganization.StatusCode);
        Assert.Equal(before, await server.RevisionAsync());
        await mike.InviteMembersAsync(new InviteMembersRequest { Resource = Object("organization:acme"), Emails = { "zoe@example.com" }, Roles = { "member" } });

        // A project admin invites into the project; a newcomer accepts (A001-5-style acceptance judging is not needed).
        var alice = await ClientAsync(server, "user:alice_admin");
        var sent = await alice.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("project:web"), Emails = { "yan@example.com" }, Roles = { "viewer" }, Grants = { Grant("environment_type:web_development", "contributor") },
        });
        var accepted = await (await ClientAsync(server, "user:yan", "yan@example.com")).AcceptInvitationAsync(new AcceptInvitationRequest { Token = sent.Invitations[0].Token });
        var check = await server.Authorization.CheckAsync(WithConsistency(Check("user:yan", "push_code", "environment:web-dev-1"), new Consistency { AtLeast = accepted.Changes.Revision }));
        Assert.Equal(Decision.Allowed, check.Decision);
    }

    [Fact]
    public async Task RemoveMembers_003_SeveralUsersAtOnce_WithTheCascade_AllOrNothing()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var mike = await ClientAsync(server, "user:mike_members");
        var before = await server.RevisionAsync();

        // One refused subject refuses the call: himself (A003-7), the owner (protected state for a Manage-users holder:
        // A003-10), someone holding nothing (NOT_FOUND).
        foreach (var (subjects, status) in new[]
        {
            (new[] { "user:paul_viewer_dev", "user:mike_members" }, StatusCode.PermissionDenied),
            (new[] { "user:paul_viewer_dev", "user:olivia_owner" }, StatusCode.FailedPrecondition),
            (new[] { "user:paul_viewer_dev", "user:nobody_here" }, StatusCode.NotFound),
            (new[] { "user:paul_viewer_dev", "user:paul_viewer_dev" }, StatusCode.InvalidArgument),
        })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => mike.RemoveMembersAsync(Removal("organization:acme", subjects)).ResponseAsync);
            Assert.Equal(status, refused.StatusCode);
        }

        // A project admin may not remove users from the organization.
        var alice = await ClientAsync(server, "user:alice_admin");
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() =>
            alice.RemoveMembersAsync(Removal("organization:acme", "user:paul_viewer_dev", "user:uma_cli")).ResponseAsync)).StatusCode);
        Assert.Equal(before, await server.RevisionAsync());

        // "Remove users from organization": both go, from every project and environment type (R23), in one revision.
        var removed = await mike.RemoveMembersAsync(Removal("organization:acme", "user:paul_viewer_dev", "user:uma_cli"));
        Assert.Equal(before + 1, await server.RevisionAsync());
        var gone = removed.Changes.Removed.Select(r => $"{r.Resource.Type}:{r.Resource.Id}#{r.Relation}@{r.Subject.Object.Id}").ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "organization:acme#member@paul_viewer_dev", "project:web#viewer@paul_viewer_dev", "environment_type:web_development#contributor@paul_viewer_dev",
            "organization:acme#member@uma_cli", "environment_type:web_production#viewer@uma_cli", "project:web#member@uma_cli",
        }, gone);
        foreach (var user in new[] { "user:paul_viewer_dev", "user:uma_cli" })
        {
            var check = await server.Authorization.CheckAsync(WithConsistency(Check(user, "view", "environment:web-dev-1"), new Consistency { AtLeast = removed.Changes.Revision }));
            Assert.Equal(Decision.Denied, check.Decision);
        }

        // One audit event for the call (003 names no audit reader: an operator's admin key reads it), streamed as
        // `members.removed` with everything the cascades removed.
        var admin = new ManagementService.ManagementServiceClient(server.Channel);
        var audit = Assert.Single((await admin.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:acme") })).Events,
            e => e.Operation == "RemoveMembers" && e.Actor == "user:mike_members");
        using var stream = admin.WatchEvents(new WatchEventsRequest { AfterId = (audit.Id - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal("members.removed", stream.ResponseStream.Current.Type);
        Assert.Equal(removed.Changes.Removed.Count, stream.ResponseStream.Current.Removed.Count);
    }

    [Fact]
    public async Task GetAndListResources_003_ReadBackAnEnvironmentsTypeAndProductionMark()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var alice = await ClientAsync(server, "user:alice_admin");

        var main = (await alice.GetResourceAsync(new GetResourceRequest { Resource = Object("environment:web-main") })).Resource;
        Assert.Equal(["production_of@project:web", "type@environment_type:web_production"], Attributes(main));
        var staging = (await alice.GetResourceAsync(new GetResourceRequest { Resource = Object("environment:web-staging") })).Resource;
        Assert.Equal(["type@environment_type:web_staging"], Attributes(staging));

        // A project's record lists its environment types, never its users' roles (ListMembers shows those).
        var web = (await alice.GetResourceAsync(new GetResourceRequest { Resource = Object("project:web") })).Resource;
        Assert.Contains("environment_type@environment_type:web_production", Attributes(web));
        Assert.DoesNotContain(Attributes(web), a => a.Contains("@user:", StringComparison.Ordinal));

        // A preview's type change (R22) reads back at once; ListResources shows every environment with its type.
        await alice.GrantRoleAsync(new GrantRoleRequest { Resource = Object("environment:web-staging"), Role = "type", Subject = Subject("environment_type:web_development") });
        var environments = await alice.ListResourcesAsync(new ListResourcesRequest { Parent = Object("project:web"), ResourceType = "environment" });
        var staged = Assert.Single(environments.Resources, r => r.Resource.Id == "web-staging");
        Assert.Equal(["type@environment_type:web_development"], Attributes(staged));
        Assert.Single(environments.Resources, r => Attributes(r).Contains("production_of@project:web"));

        // Authorized like other reads: someone with no role there or above is refused.
        var stranger = await ClientAsync(server, "user:stranger");
        var refused = await Assert.ThrowsAsync<RpcException>(() => stranger.GetResourceAsync(new GetResourceRequest { Resource = Object("environment:web-main") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Fact]
    public async Task BadInput_ToTheBatchOperations_IsInvalidArgument_AndChangesNothing()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var olivia = await ClientAsync(server, "user:olivia_owner");
        var before = await server.RevisionAsync();
        var tooMany = Removal("organization:acme", [.. Enumerable.Range(0, 101).Select(i => $"user:u{i}")]);
        var removals = new[]
        {
            Removal("organization:acme"),
            tooMany,
            new RemoveMembersRequest { Resource = Object("organization:acme"), Subjects = { new SubjectRef { Object = new ObjectRef { Type = "user", Id = "" } } } },
            new RemoveMembersRequest { Subjects = { Subject("user:ned_no_flags") } },
        };
        foreach (var removal in removals)
        {
            Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => olivia.RemoveMembersAsync(removal).ResponseAsync)).StatusCode);
        }

        var invitations = new[]
        {
            new InviteMembersRequest { Resource = Object("organization:acme"), Invitees = { new Invitee { Email = "kim@example.com" } } },
            new InviteMembersRequest { Resource = Object("organization:acme"), Invitees = { Invitee("kim@example.com,lee@example.com", "member") } },
            new InviteMembersRequest { Resource = Object("organization:acme"), Roles = { "member" }, Invitees = { Invitee("kim@example.com", "member") } },
            new InviteMembersRequest
            {
                Resource = Object("organization:acme"),
                Invitees = { new Invitee { Email = "kim@example.com", Grants = { new RoleChange { Resource = Object("project:web"), Mode = RoleChangeMode.Revoke, Roles = { "viewer" } } } } },
            },
            new InviteMembersRequest
            {
                Resource = Object("organization:acme"),
                Invitees =
                {
                    new Invitee
                    {
                        Email = "kim@example.com",
                        Grants = { new RoleChange { Resource = Object("project:web"), Mode = RoleChangeMode.Grant, Roles = { "viewer" }, OptionalExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)) } },
                    },
                },
            },
        };
        foreach (var invitation in invitations)
        {
            Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => olivia.InviteMembersAsync(invitation).ResponseAsync)).StatusCode);
        }

        Assert.Equal(before, await server.RevisionAsync());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var item in Enumerable.Reverse(_cleanup))
        {
            await item.DisposeAsync();
        }
    }

    private static List<string> Attributes(ResourceInfo info) =>
        [.. info.Attributes.Select(a => $"{a.Relation}@{a.Subject.Object.Type}:{a.Subject.Object.Id}{(a.Subject.Relation.Length > 0 ? "#" + a.Subject.Relation : "")}")];

    private static Invitee Invitee(string email, string role) => new() { Email = email, Roles = { role } };

    private static RoleChange Grant(string resource, string role) => new() { Resource = Object(resource), Mode = RoleChangeMode.Grant, Roles = { role } };

    private static RemoveMembersRequest Removal(string resource, params string[] subjects)
    {
        var request = new RemoveMembersRequest { Resource = Object(resource) };
        request.Subjects.AddRange(subjects.Select(Subject));
        return request;
    }

    // A management key for the subject; with an email, the key carries it as verified (what accepting needs).
    private static async Task<ManagementService.ManagementServiceClient> ClientAsync(StoreServer server, string subject, string? email = null) =>
        new(await server.ChannelForAsync(subject, email: email));

    // A server seeded with the validation file's schema and relationships, stopped when the test ends.
    private async Task<StoreServer> StartAsync(string file)
    {
        var seeded = await SeedModelServer.StartAsync(file);
        _cleanup.Add(seeded);
        return seeded.Server;
    }
}
