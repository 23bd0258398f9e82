using System.Globalization;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.EntityFrameworkCore;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// ManagementService through the generated client against a real server on loopback with a real database (SQLite file,
/// or PostgreSQL when configured), on the default model (organization northwind, projects storefront and payments) and,
/// for objects and audit rules the default model does not declare, on a small model of its own.
/// </summary>
public sealed class ManagementServiceTests
{
    // The default model declares create and delete for project groups only, and no audit rule: this one covers them all.
    internal const string ObjectsSchema = """
        definition user {}

        definition organization {
            relation owner: user
            relation admin: user | group#member
            relation member: user
            permission manage = owner + admin
            permission read_audit = owner
            manage owner by owner
            manage admin by manage
            manage member by manage except self
            minimum 1 owner
            transfer owner by owner
            base member
            audit by read_audit
        }

        definition group {
            relation organization: organization
            relation member: user | group#member
            permission manage = organization->manage
            manage member by manage
            parent organization
            create by organization->manage
            delete by manage
        }

        definition project {
            relation organization: organization
            relation creator: user
            relation admin: user | group#member
            relation viewer: user | group#member
            relation participant: user
            permission manage = admin + organization->manage
            permission view = viewer + manage
            manage admin, viewer by manage
            revoke participant by manage
            base participant
            parent organization
            create by organization->manage
            delete by manage
            audit by manage
        }
        """;

    internal static readonly string[] ObjectsRelationships =
    [
        "organization:acme#owner@user:olivia",
        "organization:acme#member@user:olivia",
        "organization:acme#member@user:uma",
        "organization:acme#member@user:gus",
        "project:web#organization@organization:acme",
        "project:web#admin@user:pam",
        "project:web#participant@user:pam",
        "project:docs#organization@organization:acme",
        "project:docs#viewer@user:gus",
        "group:eng#organization@organization:acme",
        "group:eng#member@user:gus",
        "project:web#viewer@group:eng#member",
    ];

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task GrantRole_AddsTheRoleAndTheBaseMemberships_AndRevokeRoleTakesTheRole(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var before = await server.RevisionAsync();

        var granted = (await olivia.GrantRoleAsync(Grant("project:payments", "developer", "user:zed"))).Changes;
        Assert.Equal(
            ["organization:northwind#member@user:zed", "project:payments#developer@user:zed", "project:payments#participant@user:zed"],
            Texts(granted.Added));
        Assert.Empty(granted.Removed);
        Assert.True(Revision(granted) > before);
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:zed", "deploy", "project:payments", granted.Revision));
        Assert.Equal(Decision.Denied, await CheckAsync(server, "user:zed", "deploy", "project:storefront", granted.Revision));

        // Granting again changes nothing and commits nothing.
        var again = (await olivia.GrantRoleAsync(Grant("project:payments", "developer", "user:zed"))).Changes;
        Assert.Empty(again.Added);
        Assert.Equal(Revision(granted), await server.RevisionAsync());

        var revoked = (await olivia.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:payments"), Role = "developer", Subject = Subject("user:zed") })).Changes;
        Assert.Equal(["project:payments#developer@user:zed"], Texts(revoked.Removed));
        Assert.Empty(revoked.Added);
        Assert.True(Revision(revoked) > Revision(granted));
        Assert.Equal(Decision.Denied, await CheckAsync(server, "user:zed", "deploy", "project:payments", revoked.Revision));

        // The role is gone: revoking it again is NOT_FOUND and changes nothing.
        var refused = await Assert.ThrowsAsync<RpcException>(() => olivia.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:payments"), Role = "developer", Subject = Subject("user:zed") }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, refused.StatusCode);

        // A viewer may not grant: PERMISSION_DENIED, nothing committed.
        var victor = Client(await server.ChannelForAsync("user:victor"));
        var denied = await Assert.ThrowsAsync<RpcException>(() => victor.GrantRoleAsync(Grant("project:payments", "developer", "user:zed")).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal(Revision(revoked), await server.RevisionAsync());
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task SetRoles_ReplacesTheRolesInOneStep_AndKeepsTheBaseMembership(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));

        var changes = (await olivia.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona"), Roles = { "viewer", "developer" } })).Changes;
        Assert.Equal(["project:payments#member@user:mona"], Texts(changes.Removed));
        Assert.Equal(
            ["project:payments#developer@user:mona", "project:payments#participant@user:mona", "project:payments#viewer@user:mona"],
            Texts(changes.Added));
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:mona", "deploy", "project:payments", changes.Revision));

        var none = (await olivia.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona") })).Changes;
        Assert.Equal(["project:payments#developer@user:mona", "project:payments#viewer@user:mona"], Texts(none.Removed));
        Assert.Empty(none.Added);
        Assert.True(Revision(none) > Revision(changes));
        Assert.Equal(Decision.Denied, await CheckAsync(server, "user:mona", "view", "project:payments", none.Revision));
        var stored = await Snapshot.StoredAsync(server.Store);
        Assert.Contains("project:payments#participant@user:mona", stored);
        Assert.Contains("organization:northwind#member@user:mona", stored);

        // The last owner cannot be downgraded: FAILED_PRECONDITION naming the rule, nothing committed.
        var refused = await Assert.ThrowsAsync<RpcException>(() => olivia.SetRolesAsync(new SetRolesRequest { Resource = Object("organization:northwind"), Subject = Subject("user:olivia"), Roles = { "admin" } }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.StartsWith("minimum 1 owner", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(Revision(none), await server.RevisionAsync());
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ChangeRoles_OnAProjectAndItsEnvironmentTypes_CommitsOnceWithOneAuditEvent(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var before = await Snapshot.TakeAsync(server);

        var changes = (await olivia.ChangeRolesAsync(ChangeRoles("user:zed",
            ("project:payments", RoleChangeMode.Grant, ["developer"]),
            ("environment_type:payments_staging", RoleChangeMode.Grant, ["contributor"]),
            ("environment_type:payments_production", RoleChangeMode.Set, ["viewer"])))).Changes;

        // The project's participant and the organization's member are implied by every item, and added once.
        Assert.Equal(
            ["environment_type:payments_production#viewer@user:zed", "environment_type:payments_staging#contributor@user:zed",
             "organization:northwind#member@user:zed", "project:payments#developer@user:zed", "project:payments#participant@user:zed"],
            Texts(changes.Added));
        Assert.Empty(changes.Removed);
        Assert.Equal(before.StoredRevision + 1, Revision(changes));
        var audit = await server.Store.Audit.ReadAsync(limit: 100_000);
        Assert.Equal(before.AuditEvents + 1, audit.Count);
        Assert.Equal(("ChangeRoles", "project:payments, environment_type:payments_staging, environment_type:payments_production", changes.Revision),
            (audit[^1].Operation, audit[^1].Target, audit[^1].Revision.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:zed", "deploy", "project:payments", changes.Revision));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ChangeRoles_OneRefusedItem_CommitsNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var paul = Client(await server.ChannelForAsync("user:paul"));
        var before = await Snapshot.TakeAsync(server);

        // Paul administers payments, not the organization: the allowed first item is not committed either.
        var denied = await Assert.ThrowsAsync<RpcException>(() => paul.ChangeRolesAsync(ChangeRoles("user:mona",
            ("project:payments", RoleChangeMode.Set, ["viewer"]),
            ("organization:northwind", RoleChangeMode.Grant, ["admin"]))).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        // Olivia may do both, but she is the last owner: the state refusal of the second item refuses the first.
        var refused = await Assert.ThrowsAsync<RpcException>(() => olivia.ChangeRolesAsync(ChangeRoles("user:olivia",
            ("environment_type:payments_staging", RoleChangeMode.Grant, ["viewer"]),
            ("organization:northwind", RoleChangeMode.Set, ["admin"]))).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.StartsWith("minimum 1 owner", refused.Status.Detail, StringComparison.Ordinal);

        Assert.Equal(before, await Snapshot.TakeAsync(server));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task RemoveMember_FromTheOrganization_CascadesToEveryRoleInside(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        await olivia.GrantRoleAsync(Grant("application:storefront-web", "owner", "user:devon"));
        await olivia.GrantRoleAsync(Grant("environment_type:payments_staging", "viewer", "user:devon"));
        var before = await server.RevisionAsync();
        var snapshot = await Snapshot.TakeAsync(server);

        // The dry run reports the very cascade, at the current revision, and changes nothing (not even the audit log).
        var planned = (await olivia.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject("user:devon"), DryRun = true })).Changes;
        Assert.Equal(before, Revision(planned));
        Assert.Equal(snapshot, await Snapshot.TakeAsync(server));

        var removed = (await olivia.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject("user:devon") })).Changes;
        Assert.Equal(Texts(planned.Removed), Texts(removed.Removed));
        Assert.Equal(
            [
                "application:storefront-web#owner@user:devon",
                "environment_type:payments_staging#viewer@user:devon",
                "organization:northwind#member@user:devon",
                "project:payments#participant@user:devon",
                "project:storefront#developer@user:devon",
                "project:storefront#participant@user:devon",
            ],
            Texts(removed.Removed));
        Assert.Empty(removed.Added);
        Assert.True(Revision(removed) > before);
        Assert.DoesNotContain(await Snapshot.StoredAsync(server.Store), r => r.EndsWith("@user:devon", StringComparison.Ordinal));

        // Devon can see nothing in the organization any more.
        var summary = await Client(server.Channel).GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:devon"), Scope = Object("organization:northwind") });
        Assert.Empty(summary.Objects);
        foreach (var resource in new[] { "project:storefront", "project:payments", "environment:storefront-prod", "application:storefront-web", "environment_type:payments_staging" })
        {
            var action = resource.StartsWith("environment_type", StringComparison.Ordinal) ? "view_environment" : "view";
            Assert.Equal(Decision.Denied, await CheckAsync(server, "user:devon", action, resource, removed.Revision));
        }

        // Removing again: NOT_FOUND; an admin may not remove the owner: PERMISSION_DENIED; neither commits.
        var again = await Assert.ThrowsAsync<RpcException>(() => olivia.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject("user:devon") }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
        var aaron = Client(await server.ChannelForAsync("user:aaron"));
        var denied = await Assert.ThrowsAsync<RpcException>(() => aaron.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject("user:olivia") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        // A dry run is refused as the removal is, authority first: it reveals no cascade the caller may not carry out.
        foreach (var (subject, expected) in new[] { ("user:olivia", StatusCode.PermissionDenied), ("user:devon", StatusCode.NotFound) })
        {
            var caller = subject == "user:olivia" ? aaron : olivia;
            var dry = await Assert.ThrowsAsync<RpcException>(() => caller.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject(subject), DryRun = true }).ResponseAsync);
            Assert.Equal(expected, dry.StatusCode);
        }

        Assert.Equal(Revision(removed), await server.RevisionAsync());
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Leave_AndTransferOwnership_FollowTheirRules(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var aaron = Client(await server.ChannelForAsync("user:aaron"));
        var victor = Client(await server.ChannelForAsync("user:victor"));
        var start = await server.RevisionAsync();

        // The last owner cannot leave; a viewer has no leave permission.
        var last = await Assert.ThrowsAsync<RpcException>(() => olivia.LeaveAsync(new LeaveRequest { Resource = Object("organization:northwind") }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, last.StatusCode);
        Assert.StartsWith("minimum 1 owner", last.Status.Detail, StringComparison.Ordinal);
        var viewer = await Assert.ThrowsAsync<RpcException>(() => victor.LeaveAsync(new LeaveRequest { Resource = Object("organization:northwind") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, viewer.StatusCode);
        Assert.Equal(start, await server.RevisionAsync());

        // Only the owner transfers ownership; it moves in one step.
        var notOwner = await Assert.ThrowsAsync<RpcException>(() => aaron.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:northwind"), Role = "owner", To = Subject("user:aaron") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notOwner.StatusCode);
        var transfer = (await olivia.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:northwind"), Role = "owner", To = Subject("user:aaron") })).Changes;
        Assert.Equal(["organization:northwind#owner@user:olivia"], Texts(transfer.Removed));
        Assert.Equal(["organization:northwind#owner@user:aaron"], Texts(transfer.Added));
        Assert.True(Revision(transfer) > start);
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:aaron", "manage_account", "organization:northwind", transfer.Revision));
        Assert.Equal(Decision.Denied, await CheckAsync(server, "user:olivia", "manage_account", "organization:northwind", transfer.Revision));

        // Olivia no longer owns: she may not grant owner; she is a plain member and may not leave.
        var formerOwner = await Assert.ThrowsAsync<RpcException>(() => olivia.GrantRoleAsync(Grant("organization:northwind", "owner", "user:olivia")).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, formerOwner.StatusCode);

        // Aaron (owner and admin now) grants olivia admin back; then olivia, an admin, leaves with every role.
        await aaron.GrantRoleAsync(Grant("organization:northwind", "admin", "user:olivia"));
        var left = (await olivia.LeaveAsync(new LeaveRequest { Resource = Object("organization:northwind") })).Changes;
        Assert.Equal(["organization:northwind#admin@user:olivia", "organization:northwind#member@user:olivia"], Texts(left.Removed));
        Assert.Equal(Decision.Denied, await CheckAsync(server, "user:olivia", "view", "project:storefront", left.Revision));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ListMembers_ShowsDirectInheritedAndGroupRoles_ToMembersOnly(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var paul = Client(await server.ChannelForAsync("user:paul"));

        var list = await paul.ListMembersAsync(new ListMembersRequest { Resource = Object("project:payments") });
        Assert.Equal((await server.RevisionAsync()).ToString(CultureInfo.InvariantCulture), list.Revision);
        var subjects = list.Members.Select(m => Text(m.Subject)).ToList();
        Assert.Equal(subjects.Order(StringComparer.Ordinal), subjects);

        var paulRoles = Roles(list, "user:paul");
        Assert.Contains(("admin", "project:payments", false, ""), paulRoles);
        // The organization's base membership grants nothing on the project (R11), so it is not listed there (A004-5).
        Assert.DoesNotContain(paulRoles, r => r.GrantedOn == "organization:northwind");
        Assert.Contains(("member", "project:payments", false, ""), Roles(list, "user:mona"));
        Assert.Contains(("owner", "organization:northwind", true, ""), Roles(list, "user:olivia"));
        Assert.Contains(("admin", "organization:northwind", true, ""), Roles(list, "user:aaron"));
        Assert.Contains(("developer", "organization:northwind", true, "group:platform#member"), Roles(list, "user:dan"));
        // sre is nested in platform: sara's developer role comes through platform too.
        Assert.Contains(("developer", "organization:northwind", true, "group:platform#member"), Roles(list, "user:sara"));
        // Priya holds roles on storefront only: on payments she is an organization member, which grants nothing there,
        // so she is not listed (A004-5: the list shows who has access).
        Assert.DoesNotContain("user:priya", subjects);
        Assert.DoesNotContain("user:zed", subjects);

        // Direct roles first.
        var paulMember = list.Members.Single(m => Text(m.Subject) == "user:paul");
        Assert.False(paulMember.Roles[0].Inherited);

        // An outsider may not list them.
        var zed = Client(await server.ChannelForAsync("user:zed"));
        var denied = await Assert.ThrowsAsync<RpcException>(() => zed.ListMembersAsync(new ListMembersRequest { Resource = Object("project:payments") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task GetAccessSummary_CoversEveryProject_ForTheSubjectAndThoseWithAuthority(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));

        // The owner's own summary: the organization and every project, each with roles and permissions.
        var own = await olivia.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:olivia"), Scope = Object("organization:northwind") });
        var objects = own.Objects.Select(o => Text(o.Resource)).ToList();
        Assert.Equal(objects.Order(StringComparer.Ordinal), objects);
        Assert.Contains("project:storefront", objects);
        Assert.Contains("project:payments", objects);
        var org = own.Objects.Single(o => Text(o.Resource) == "organization:northwind");
        Assert.Contains("owner", org.Roles);
        Assert.Contains("manage_account", org.Permissions);
        Assert.All(own.Objects.Where(o => o.Resource.Type == "project"), p => Assert.Contains("deploy", p.Permissions));

        // Paul's summary, read by the owner: his payments role and permissions, nothing on storefront.
        var paul = await olivia.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:paul"), Scope = Object("organization:northwind") });
        var payments = paul.Objects.Single(o => Text(o.Resource) == "project:payments");
        Assert.Equal(["admin"], payments.Roles);
        Assert.Contains("manage_members", payments.Permissions);
        Assert.Contains("deploy", payments.Permissions);
        Assert.DoesNotContain(paul.Objects, o => Text(o.Resource) == "project:storefront");
        Assert.Contains(paul.Objects, o => Text(o.Resource) == "environment:payments-prod" && o.Permissions.Contains("deploy"));

        // The subject itself may read it; a peer without authority may not.
        var self = await Client(await server.ChannelForAsync("user:paul")).GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:paul"), Scope = Object("organization:northwind") });
        Assert.Equal(paul.Objects, self.Objects);
        var victor = Client(await server.ChannelForAsync("user:victor"));
        var denied = await Assert.ThrowsAsync<RpcException>(() => victor.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:paul"), Scope = Object("organization:northwind") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task CreateAndDeleteResource_UnderTheirRules(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StartObjectsServerAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var uma = Client(await server.ChannelForAsync("user:uma"));
        var start = await server.RevisionAsync();

        var request = new CreateResourceRequest
        {
            Resource = Object("project:api"),
            Parent = Object("organization:acme"),
            Name = "API",
            Description = "The public API",
            Attributes = { new V1.Attribute { Relation = "creator", Subject = Subject("user:olivia") } },
        };

        // A member without the create permission: PERMISSION_DENIED, nothing committed.
        var denied = await Assert.ThrowsAsync<RpcException>(() => uma.CreateResourceAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal(start, await server.RevisionAsync());

        var created = (await olivia.CreateResourceAsync(request)).Changes;
        Assert.Equal(["project:api#creator@user:olivia", "project:api#organization@organization:acme"], Texts(created.Added));
        Assert.True(Revision(created) > start);
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:olivia", "manage", "project:api", created.Revision));
        var stored = await server.Store.Audit.QueryAsync(new Storage.AuditQuery(null, "user:olivia", null, null, null, 10));
        Assert.Contains(stored, e => e.Operation == "CreateResource" && e.Target == "project:api" && e.Revision == Revision(created));

        var exists = await Assert.ThrowsAsync<RpcException>(() => olivia.CreateResourceAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, exists.StatusCode);
        Assert.Equal(Revision(created), await server.RevisionAsync());

        // Deleting a project takes everything stored on it.
        var deniedDelete = await Assert.ThrowsAsync<RpcException>(() => uma.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("project:web") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, deniedDelete.StatusCode);
        var deleted = (await olivia.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("project:web") })).Changes;
        Assert.Equal(
            ["project:web#admin@user:pam", "project:web#organization@organization:acme", "project:web#participant@user:pam", "project:web#viewer@group:eng#member"],
            Texts(deleted.Removed));
        Assert.DoesNotContain(await Snapshot.StoredAsync(server.Store), r => r.StartsWith("project:web#", StringComparison.Ordinal));
        // Once gone, nobody holds its delete permission any more (authority is judged before state).
        var missing = await Assert.ThrowsAsync<RpcException>(() => olivia.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("project:web") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, missing.StatusCode);
        Assert.Equal(Revision(deleted), await server.RevisionAsync());

        // Deleting a group: its members keep their other access (gus still views docs directly).
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:gus", "view", "project:docs", deleted.Revision));
        var group = (await olivia.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("group:eng") })).Changes;
        Assert.Equal(["group:eng#member@user:gus", "group:eng#organization@organization:acme"], Texts(group.Removed));
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:gus", "view", "project:docs", group.Revision));
        Assert.Contains("organization:acme#member@user:gus", await Snapshot.StoredAsync(server.Store));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task UpdateResource_ByWhoeverMayCreateInTheParent_RenamesWithAnAuditEvent(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StartObjectsServerAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var uma = Client(await server.ChannelForAsync("user:uma"));
        var admin = Client(server.Channel);
        var created = (await olivia.CreateResourceAsync(new CreateResourceRequest
        {
            Resource = Object("group:ops"),
            Parent = Object("organization:acme"),
            Name = "Ops",
            Description = "On call",
        })).Changes;

        // olivia may create groups in organization:acme (create by organization->manage), so she may rename them.
        var renamed = await olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:ops"), Name = "Operations" });
        Assert.Equal(Revision(created) + 1, long.Parse(renamed.Revision, CultureInfo.InvariantCulture));
        Assert.Equal(("Operations", "On call"), await StoredRecordAsync(server, "group:ops"));
        var events = await ReadAllAsync(admin, new ListAuditEventsRequest { Resource = Object("group:ops") });
        var update = events[0];
        Assert.Equal(("UpdateResource", "group:ops", "user:olivia", renamed.Revision), (update.Operation, update.Target, update.Actor, update.Revision));
        Assert.Contains("\"name\":\"Ops\"", update.Before, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"Operations\"", update.After, StringComparison.Ordinal);

        // Only the description: the name stays; an empty description clears it.
        await olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:ops"), Description = "Runs production" });
        Assert.Equal(("Operations", "Runs production"), await StoredRecordAsync(server, "group:ops"));
        var cleared = await olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:ops"), Description = string.Empty });
        Assert.Equal(("Operations", (string?)null), await StoredRecordAsync(server, "group:ops"));
        // The group is the same object: its members and what they may do are untouched.
        Assert.Equal(Decision.Allowed, await CheckAsync(server, "user:olivia", "manage", "group:ops", cleared.Revision));

        // A member who may not create groups there may not rename them (nor may the admin key's subject, which holds no
        // role): PERMISSION_DENIED, nothing committed or recorded.
        var before = await Snapshot.TakeAsync(server);
        foreach (var caller in new[] { uma, admin })
        {
            var denied = await Assert.ThrowsAsync<RpcException>(() => caller.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:ops"), Name = "Mine" }).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
            // Authority first (R24): the refusal names the rule, not the parent, as it would for an object that does not exist.
            Assert.Contains("'create by' rule", denied.Status.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain("organization:acme", denied.Status.Detail, StringComparison.Ordinal);
        }

        // An object that does not exist, and one that exists only as relationships (written without CreateResource, so
        // with no stored name): NOT_FOUND, nothing committed.
        var unknown = await Assert.ThrowsAsync<RpcException>(() => olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:nope"), Name = "Nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        var unrecorded = await Assert.ThrowsAsync<RpcException>(() => olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:eng"), Name = "Engineering" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unrecorded.StatusCode);
        Assert.Contains("CreateResource", unrecorded.Status.Detail, StringComparison.Ordinal);

        // A type without a create rule cannot be updated: PERMISSION_DENIED naming the missing rule.
        var noRule = await Assert.ThrowsAsync<RpcException>(() => olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("organization:acme"), Name = "Acme" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, noRule.StatusCode);
        Assert.Contains("'create by' rule", noRule.Status.Detail, StringComparison.Ordinal);

        Assert.Equal(before, await Snapshot.TakeAsync(server));
        Assert.Equal(("Operations", (string?)null), await StoredRecordAsync(server, "group:ops"));

        // Deleting the group removes its record: updating it afterwards is NOT_FOUND.
        await olivia.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("group:ops") });
        var gone = await Assert.ThrowsAsync<RpcException>(() => olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:ops"), Name = "Ops" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ListAuditEvents_RecordsEveryCall_FiltersAndPages(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StartObjectsServerAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var pam = Client(await server.ChannelForAsync("user:pam"));
        var uma = Client(await server.ChannelForAsync("user:uma"));
        var admin = Client(server.Channel);
        var startEvents = (await server.Store.Audit.ReadAsync(limit: 100_000)).Count;

        // A series of calls by two actors; each revision newer than the one before.
        var calls = new List<(string Actor, string Operation, string Target, ManagementChanges Changes)>();
        async Task Do<TResponse>(string actor, string operation, string target, AsyncUnaryCall<TResponse> call, Func<TResponse, ManagementChanges> changesOf)
        {
            var changes = changesOf(await call);
            Assert.True(calls.Count == 0 || Revision(changes) > Revision(calls[^1].Changes), $"{operation}: revision {changes.Revision} is not newer");
            calls.Add((actor, operation, target, changes));
        }

        await Do("user:olivia", "GrantRole", "project:docs", olivia.GrantRoleAsync(Grant("project:docs", "admin", "user:uma")), r => r.Changes);
        await Do("user:pam", "GrantRole", "project:web", pam.GrantRoleAsync(Grant("project:web", "viewer", "user:vic")), r => r.Changes);
        await Do("user:olivia", "SetRoles", "project:docs", olivia.SetRolesAsync(new SetRolesRequest { Resource = Object("project:docs"), Subject = Subject("user:uma"), Roles = { "viewer" } }), r => r.Changes);
        await Do("user:pam", "RevokeRole", "project:web", pam.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:web"), Role = "viewer", Subject = Subject("user:vic") }), r => r.Changes);
        await Do("user:olivia", "CreateResource", "group:ops", olivia.CreateResourceAsync(new CreateResourceRequest { Resource = Object("group:ops"), Parent = Object("organization:acme"), Name = "Ops" }), r => r.Changes);
        await Do("user:olivia", "GrantRole", "group:ops", olivia.GrantRoleAsync(Grant("group:ops", "member", "user:gus")), r => r.Changes);
        await Do("user:olivia", "RemoveMember", "organization:acme", olivia.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:acme"), Subject = Subject("user:vic") }), r => r.Changes);
        await Do("user:olivia", "TransferOwnership", "organization:acme", olivia.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:acme"), Role = "owner", To = Subject("user:gus") }), r => r.Changes);
        await Do("user:pam", "DeleteResource", "project:web", pam.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("project:web") }), r => r.Changes);

        // A refused call leaves the revision and the audit log as they were.
        var last = await server.RevisionAsync();
        Assert.Equal(Revision(calls[^1].Changes), last);
        var refused = await Assert.ThrowsAsync<RpcException>(() => uma.GrantRoleAsync(Grant("organization:acme", "owner", "user:uma")).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal(last, await server.RevisionAsync());

        // An admin key without a resource: every event, newest first; one per call with actor, operation, target,
        // before/after and revision.
        var all = await ReadAllAsync(admin, new ListAuditEventsRequest { PageSize = 1000 });
        Assert.Equal(startEvents + calls.Count, all.Count);
        Assert.Equal(all.Select(e => e.Id).OrderDescending(), all.Select(e => e.Id));
        var mine = all.Take(calls.Count).Reverse().ToList();
        for (var i = 0; i < calls.Count; i++)
        {
            var (actor, operation, target, changes) = calls[i];
            var e = mine[i];
            Assert.Equal((actor, operation, target, changes.Revision), (e.Actor, e.Operation, e.Target, e.Revision));
            Assert.All(changes.Added, r => Assert.Contains(Text(r), e.After, StringComparison.Ordinal));
            Assert.All(changes.Removed, r => Assert.Contains(Text(r), e.Before, StringComparison.Ordinal));
            Assert.Equal(changes.Added.Count == 0, e.After.Length == 0);
            Assert.Equal(changes.Removed.Count == 0, e.Before.Length == 0);
        }

        // Paging: every event exactly once, newest first.
        var paged = await ReadAllAsync(admin, new ListAuditEventsRequest { PageSize = 2 });
        Assert.Equal(all.Select(e => e.Id), paged.Select(e => e.Id));

        // By actor.
        var byPam = await ReadAllAsync(admin, new ListAuditEventsRequest { Actor = "user:pam" });
        Assert.Equal(all.Where(e => e.Actor == "user:pam").Select(e => e.Id), byPam.Select(e => e.Id));
        Assert.Equal(3, byPam.Count);

        // By resource: the events that name it.
        var docs = await ReadAllAsync(admin, new ListAuditEventsRequest { Resource = Object("project:docs") });
        Assert.Equal(mine.Where(e => e.Target == "project:docs").Select(e => e.Id).Reverse(), docs.Where(e => e.Id >= mine[0].Id).Select(e => e.Id));
        Assert.All(docs, e => Assert.Contains("project:docs", e.Target + e.Before + e.After, StringComparison.Ordinal));
        // An object whose name is a prefix of another's is another object: its log is not theirs.
        Assert.Empty(await ReadAllAsync(admin, new ListAuditEventsRequest { Resource = Object("project:doc") }));
        Assert.Empty(await ReadAllAsync(admin, new ListAuditEventsRequest { Resource = Object("organization:acm") }));

        // By time: since and until split the log at any instant.
        var cut = all.Single(e => e.Operation == "RevokeRole").Time;
        var since = await ReadAllAsync(admin, new ListAuditEventsRequest { Since = cut });
        var until = await ReadAllAsync(admin, new ListAuditEventsRequest { Until = cut });
        Assert.Equal(all.Where(e => e.Time >= cut).Select(e => e.Id), since.Select(e => e.Id));
        Assert.Equal(all.Where(e => e.Time < cut).Select(e => e.Id), until.Select(e => e.Id));
        Assert.Contains(since, e => e.Operation == "RevokeRole");
        Assert.DoesNotContain(until, e => e.Operation == "RevokeRole");
        var future = await ReadAllAsync(admin, new ListAuditEventsRequest { Since = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(1)) });
        Assert.Empty(future);

        // Non-admin callers: the `audit by` permission on the resource, and never the whole log.
        var project = await ReadAllAsync(Client(await server.ChannelForAsync("user:gus")), new ListAuditEventsRequest { Resource = Object("project:docs") });
        Assert.Equal(docs.Select(e => e.Id), project.Select(e => e.Id));
        var notProjectAdmin = await Assert.ThrowsAsync<RpcException>(() => pam.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("project:docs") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notProjectAdmin.StatusCode);
        var noResource = await Assert.ThrowsAsync<RpcException>(() => pam.ListAuditEventsAsync(new ListAuditEventsRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, noResource.StatusCode);
        var notAllowed = await Assert.ThrowsAsync<RpcException>(() => uma.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:acme") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notAllowed.StatusCode);
        // Ownership moved to gus: he may read the organization's log, olivia no longer may.
        var gus = Client(await server.ChannelForAsync("user:gus"));
        Assert.NotEmpty(await ReadAllAsync(gus, new ListAuditEventsRequest { Resource = Object("organization:acme") }));
        var formerOwner = await Assert.ThrowsAsync<RpcException>(() => olivia.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:acme") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, formerOwner.StatusCode);
        server.AssertNoErrors();
    }

    internal static async Task<StoreServer> StartObjectsServerAsync(TestDatabase database)
    {
        var folder = Directory.CreateTempSubdirectory("authz-mgmt-");
        var schema = Path.Combine(folder.FullName, "objects.zed");
        var relationships = Path.Combine(folder.FullName, "objects.relationships");
        await File.WriteAllTextAsync(schema, ObjectsSchema);
        await File.WriteAllLinesAsync(relationships, ObjectsRelationships);
        return await StoreServer.StartAsync(database, new Dictionary<string, string?>
        {
            ["Authz:SchemaFile"] = schema,
            ["Authz:RelationshipsFile"] = relationships,
        });
    }

    internal static ManagementService.ManagementServiceClient Client(GrpcChannel channel) => new(channel);

    internal static GrantRoleRequest Grant(string resource, string role, string subject) =>
        new() { Resource = Object(resource), Role = role, Subject = Subject(subject) };

    internal static ChangeRolesRequest ChangeRoles(string subject, params (string Resource, RoleChangeMode Mode, string[] Roles)[] items)
    {
        var request = new ChangeRolesRequest { Subject = Subject(subject) };
        request.Changes.AddRange(items.Select(i => new RoleChange { Resource = Object(i.Resource), Mode = i.Mode, Roles = { i.Roles } }));
        return request;
    }

    internal static long Revision(ManagementChanges changes) => long.Parse(changes.Revision, CultureInfo.InvariantCulture);

    internal static List<string> Texts(IEnumerable<Relationship> relationships) => [.. relationships.Select(Text).Order(StringComparer.Ordinal)];

    internal static async Task<Decision> CheckAsync(StoreServer server, string subject, string action, string resource, string revision)
    {
        var request = Check(subject, action, resource);
        request.Consistency = new Consistency { AtLeast = revision };
        return (await server.Authorization.CheckAsync(request)).Decision;
    }

    internal static async Task<List<AuditEvent>> ReadAllAsync(ManagementService.ManagementServiceClient client, ListAuditEventsRequest request)
    {
        var events = new List<AuditEvent>();
        var pages = 0;
        while (true)
        {
            var page = await client.ListAuditEventsAsync(request);
            Assert.True(++pages < 10_000);
            events.AddRange(page.Events);
            if (page.NextPageToken.Length == 0)
            {
                return events;
            }

            request = request.Clone();
            request.PageToken = page.NextPageToken;
        }
    }

    // The name and description stored for an object (no API reads them back).
    private static async Task<(string Name, string? Description)> StoredRecordAsync(StoreServer server, string resource)
    {
        var target = Core.Model.ObjectRef.Parse(resource);
        await using var context = server.Store.Database.OpenContext();
        var row = await context.Resources.AsNoTracking().SingleAsync(r => r.ResourceType == target.Type && r.ResourceId == target.Id);
        return (row.Name, row.Description);
    }

    private static List<(string Role, string GrantedOn, bool Inherited, string Via)> Roles(ListMembersResponse list, string subject) =>
        [.. list.Members.Single(m => Text(m.Subject) == subject).Roles.Select(r => (r.Role, Text(r.GrantedOn), r.Inherited, r.Via is null ? string.Empty : Text(r.Via)))];
}
