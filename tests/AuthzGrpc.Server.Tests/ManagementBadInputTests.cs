using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Malformed ManagementService requests, across every RPC, sent by the organization's owner (who would be allowed the
/// well-formed call): each gets INVALID_ARGUMENT (or the precise status named in the table), never UNKNOWN, nothing
/// stored changes (same revision, same relationships, same audit log) and the server logs no error.
/// </summary>
public sealed class ManagementBadInputTests
{
    private static readonly string LongId = new('a', 10 * 1024);
    private static readonly Google.Protobuf.WellKnownTypes.Timestamp Tomorrow = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1));

    private static readonly IReadOnlyList<(string Name, StatusCode Expected, Func<ManagementService.ManagementServiceClient, Task> Call)> Cases =
    [
        // GrantRole
        ("grant: no resource", StatusCode.InvalidArgument, c => Grant(c, new GrantRoleRequest { Role = "developer", Subject = Subject("user:zed") })),
        ("grant: no subject", StatusCode.InvalidArgument, c => Grant(c, new GrantRoleRequest { Resource = Object("project:payments"), Role = "developer" })),
        ("grant: subject without object", StatusCode.InvalidArgument, c => Grant(c, new GrantRoleRequest { Resource = Object("project:payments"), Role = "developer", Subject = new SubjectRef() })),
        ("grant: no role", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "", "user:zed"))),
        ("grant: empty resource id", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:", "developer", "user:zed"))),
        ("grant: empty resource type", StatusCode.InvalidArgument, c => Grant(c, GrantOf(":payments", "developer", "user:zed"))),
        ("grant: empty subject id", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "developer", "user:"))),
        ("grant: illegal characters in resource id", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:pay ments", "developer", "user:zed"))),
        ("grant: illegal characters in subject id", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "developer", "user:z\u00e9d<script>"))),
        ("grant: illegal characters in role", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "Dev-eloper!", "user:zed"))),
        ("grant: 10 KB resource id", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:" + LongId, "developer", "user:zed"))),
        ("grant: 10 KB subject id", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "developer", "user:" + LongId))),
        ("grant: 10 KB role", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", LongId, "user:zed"))),
        ("grant: unknown resource type", StatusCode.InvalidArgument, c => Grant(c, GrantOf("widget:payments", "developer", "user:zed"))),
        ("grant: unknown role", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "emperor", "user:zed"))),
        ("grant: a permission as a role", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "deploy", "user:zed"))),
        ("grant: unknown subject type", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "developer", "robot:zed"))),
        ("grant: wrong subject type", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "developer", "project:storefront"))),
        ("grant: unknown subject relation", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "developer", "group:platform#boss"))),
        ("grant: wildcard where the relation allows none", StatusCode.InvalidArgument, c => Grant(c, GrantOf("project:payments", "developer", "user:*"))),
        ("grant: a subject set on a user-only relation", StatusCode.InvalidArgument, c => Grant(c, GrantOf("organization:northwind", "owner", "group:platform#member"))),

        // RevokeRole
        ("revoke: no role", StatusCode.InvalidArgument, c => c.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:payments"), Subject = Subject("user:paul") }).ResponseAsync),
        ("revoke: no resource", StatusCode.InvalidArgument, c => c.RevokeRoleAsync(new RevokeRoleRequest { Role = "admin", Subject = Subject("user:paul") }).ResponseAsync),
        ("revoke: unknown role", StatusCode.InvalidArgument, c => c.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:payments"), Role = "emperor", Subject = Subject("user:paul") }).ResponseAsync),
        ("revoke: a permission as a role", StatusCode.InvalidArgument, c => c.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:payments"), Role = "manage_members", Subject = Subject("user:paul") }).ResponseAsync),
        ("revoke: a role not held", StatusCode.NotFound, c => c.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:payments"), Role = "viewer", Subject = Subject("user:paul") }).ResponseAsync),
        ("revoke: the base membership alone", StatusCode.FailedPrecondition, c => c.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("organization:northwind"), Role = "member", Subject = Subject("user:mona") }).ResponseAsync),

        // SetRoles
        ("set roles: 101 roles", StatusCode.InvalidArgument, c => c.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona"), Roles = { Enumerable.Repeat("viewer", 101) } }).ResponseAsync),
        ("set roles: unknown role", StatusCode.InvalidArgument, c => c.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona"), Roles = { "viewer", "emperor" } }).ResponseAsync),
        ("set roles: empty role", StatusCode.InvalidArgument, c => c.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona"), Roles = { "viewer", "" } }).ResponseAsync),
        ("set roles: a permission as a role", StatusCode.InvalidArgument, c => c.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona"), Roles = { "view" } }).ResponseAsync),
        ("set roles: no subject", StatusCode.InvalidArgument, c => c.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Roles = { "viewer" } }).ResponseAsync),
        ("set roles: an expiry on roles that take none", StatusCode.InvalidArgument, c => c.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona"), Roles = { "viewer" }, OptionalExpiresAt = Tomorrow }).ResponseAsync),
        ("set roles: an expiry out of range", StatusCode.InvalidArgument, c => c.SetRolesAsync(new SetRolesRequest { Resource = Object("project:payments"), Subject = Subject("user:mona"), Roles = { "viewer" }, OptionalExpiresAt = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = -70_000_000_000 } }).ResponseAsync),

        // ChangeRoles
        ("change roles: an expiry on a revoke", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:paul"), Changes = { new RoleChange { Resource = Object("project:payments"), Mode = RoleChangeMode.Revoke, Roles = { "viewer" }, OptionalExpiresAt = Tomorrow } } })),
        ("change roles: no subject", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Changes = { Item("project:payments", RoleChangeMode.Grant, "viewer") } })),
        ("change roles: no items", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed") })),
        ("change roles: 101 items", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Enumerable.Range(0, 101).Select(i => Item($"project:p{i}", RoleChangeMode.Grant, "viewer")) } })),
        ("change roles: item without resource", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { new RoleChange { Mode = RoleChangeMode.Grant, Roles = { "viewer" } } } })),
        ("change roles: item without mode", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Item("project:payments", RoleChangeMode.Unspecified, "viewer") } })),
        ("change roles: unknown mode", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Item("project:payments", (RoleChangeMode)7, "viewer") } })),
        ("change roles: grant without roles", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Item("project:payments", RoleChangeMode.Grant) } })),
        ("change roles: illegal role in the second item", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Item("project:payments", RoleChangeMode.Grant, "viewer"), Item("environment_type:payments_staging", RoleChangeMode.Grant, "Admin!") } })),
        ("change roles: unknown role in the second item", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Item("project:payments", RoleChangeMode.Grant, "viewer"), Item("environment_type:payments_staging", RoleChangeMode.Grant, "emperor") } })),
        ("change roles: unknown resource type", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Item("widget:payments", RoleChangeMode.Set) } })),
        ("change roles: the same object twice", StatusCode.InvalidArgument, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:zed"), Changes = { Item("project:payments", RoleChangeMode.Grant, "viewer"), Item("project:payments", RoleChangeMode.Grant, "developer") } })),
        ("change roles: revoking a role not held", StatusCode.NotFound, c => ChangeRoles(c, new ChangeRolesRequest { Subject = Subject("user:paul"), Changes = { Item("project:payments", RoleChangeMode.Revoke, "viewer") } })),

        // RemoveMember
        ("remove member: no resource", StatusCode.InvalidArgument, c => c.RemoveMemberAsync(new RemoveMemberRequest { Subject = Subject("user:mona") }).ResponseAsync),
        ("remove member: illegal subject id", StatusCode.InvalidArgument, c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject("user:mo/na?") }).ResponseAsync),
        ("remove member: unknown resource type", StatusCode.InvalidArgument, c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("tenant:northwind"), Subject = Subject("user:mona") }).ResponseAsync),
        ("remove member: not a member", StatusCode.NotFound, c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("project:payments"), Subject = Subject("user:zed") }).ResponseAsync),

        // Leave
        ("leave: no resource", StatusCode.InvalidArgument, c => c.LeaveAsync(new LeaveRequest()).ResponseAsync),
        ("leave: empty id", StatusCode.InvalidArgument, c => c.LeaveAsync(new LeaveRequest { Resource = Object("organization:") }).ResponseAsync),
        ("leave: unknown type", StatusCode.InvalidArgument, c => c.LeaveAsync(new LeaveRequest { Resource = Object("tenant:northwind") }).ResponseAsync),

        // TransferOwnership
        ("transfer: no recipient", StatusCode.InvalidArgument, c => c.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:northwind"), Role = "owner" }).ResponseAsync),
        ("transfer: unknown role", StatusCode.InvalidArgument, c => c.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:northwind"), Role = "emperor", To = Subject("user:aaron") }).ResponseAsync),
        ("transfer: no role", StatusCode.InvalidArgument, c => c.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:northwind"), To = Subject("user:aaron") }).ResponseAsync),
        ("transfer: to oneself", StatusCode.FailedPrecondition, c => c.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:northwind"), Role = "owner", To = Subject("user:olivia") }).ResponseAsync),

        // CreateResource
        ("create: no resource", StatusCode.InvalidArgument, c => c.CreateResourceAsync(new CreateResourceRequest { Parent = Object("organization:northwind") }).ResponseAsync),
        ("create: no parent", StatusCode.InvalidArgument, c => c.CreateResourceAsync(new CreateResourceRequest { Resource = Object("project:new") }).ResponseAsync),
        ("create: 201-character name", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Name = new string('n', 201))).ResponseAsync),
        ("create: 2,001-character description", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Description = new string('d', 2001))).ResponseAsync),
        ("create: attribute without relation", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Attributes.Add(new V1.Attribute { Subject = Subject("user:olivia") }))).ResponseAsync),
        ("create: attribute without subject", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Attributes.Add(new V1.Attribute { Relation = "creator" }))).ResponseAsync),
        ("create: 101 attributes", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Attributes.AddRange(Enumerable.Range(0, 101).Select(i => new V1.Attribute { Relation = "creator", Subject = Subject($"user:u{i}") })))).ResponseAsync),
        ("create: unknown type", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Resource = Object("widget:new"))).ResponseAsync),
        ("create: child without resource", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Children.Add(new CreatedChild { Name = "main" }))).ResponseAsync),
        ("create: child attribute without subject", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Children.Add(new CreatedChild { Resource = Object("environment:new-main"), Attributes = { new V1.Attribute { Relation = "type" } } }))).ResponseAsync),
        ("create: 21 children", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Children.AddRange(Enumerable.Range(0, 21).Select(i => new CreatedChild { Resource = Object($"environment:e{i}") })))).ResponseAsync),
        ("create: a child that does not belong to the new object", StatusCode.InvalidArgument, c => c.CreateResourceAsync(Creation(r => r.Children.Add(new CreatedChild { Resource = Object("organization:other") }))).ResponseAsync),

        // UpdateResource (the default model has no create rules: a well-formed update is refused for authority)
        ("update: no resource", StatusCode.InvalidArgument, c => c.UpdateResourceAsync(new UpdateResourceRequest { Name = "New" }).ResponseAsync),
        ("update: nothing to update", StatusCode.InvalidArgument, c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("project:payments") }).ResponseAsync),
        ("update: 201-character name", StatusCode.InvalidArgument, c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("project:payments"), Name = new string('n', 201) }).ResponseAsync),
        ("update: 2,001-character description", StatusCode.InvalidArgument, c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("project:payments"), Description = new string('d', 2001) }).ResponseAsync),
        ("update: 10 KB id", StatusCode.InvalidArgument, c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("project:" + LongId), Name = "New" }).ResponseAsync),
        ("update: illegal characters in id", StatusCode.InvalidArgument, c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("project:pay ments"), Name = "New" }).ResponseAsync),
        ("update: unknown type", StatusCode.InvalidArgument, c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("widget:payments"), Name = "New" }).ResponseAsync),
        ("update: a type without a create rule", StatusCode.PermissionDenied, c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("environment_type:storefront_production"), Name = "New" }).ResponseAsync),

        // DeleteResource
        ("delete: no resource", StatusCode.InvalidArgument, c => c.DeleteResourceAsync(new DeleteResourceRequest()).ResponseAsync),
        ("delete: 10 KB id", StatusCode.InvalidArgument, c => c.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("project:" + LongId) }).ResponseAsync),
        ("delete: unknown type", StatusCode.InvalidArgument, c => c.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("widget:payments") }).ResponseAsync),

        // ListMembers
        ("list members: no resource", StatusCode.InvalidArgument, c => c.ListMembersAsync(new ListMembersRequest()).ResponseAsync),
        ("list members: unknown resource type", StatusCode.InvalidArgument, c => c.ListMembersAsync(new ListMembersRequest { Resource = Object("widget:payments") }).ResponseAsync),
        ("list members: illegal id", StatusCode.InvalidArgument, c => c.ListMembersAsync(new ListMembersRequest { Resource = Object("project:pay\nments") }).ResponseAsync),

        ("list members: 10 KB id", StatusCode.InvalidArgument, c => c.ListMembersAsync(new ListMembersRequest { Resource = Object("project:" + LongId), IncludeContained = true }).ResponseAsync),

        // GetResource, ListResources
        ("get resource: no resource", StatusCode.InvalidArgument, c => c.GetResourceAsync(new GetResourceRequest()).ResponseAsync),
        ("get resource: unknown type", StatusCode.InvalidArgument, c => c.GetResourceAsync(new GetResourceRequest { Resource = Object("widget:payments") }).ResponseAsync),
        ("get resource: illegal id", StatusCode.InvalidArgument, c => c.GetResourceAsync(new GetResourceRequest { Resource = Object("project:pay ments") }).ResponseAsync),
        ("list resources: no parent", StatusCode.InvalidArgument, c => c.ListResourcesAsync(new ListResourcesRequest { ResourceType = "project" }).ResponseAsync),
        ("list resources: unknown parent type", StatusCode.InvalidArgument, c => c.ListResourcesAsync(new ListResourcesRequest { Parent = Object("tenant:northwind") }).ResponseAsync),
        ("list resources: illegal type name", StatusCode.InvalidArgument, c => c.ListResourcesAsync(new ListResourcesRequest { Parent = Object("organization:northwind"), ResourceType = "Pro ject" }).ResponseAsync),
        ("list resources: unknown type", StatusCode.InvalidArgument, c => c.ListResourcesAsync(new ListResourcesRequest { Parent = Object("organization:northwind"), ResourceType = "widget" }).ResponseAsync),

        // GetAccessSummary
        ("access summary: no scope", StatusCode.InvalidArgument, c => c.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:paul") }).ResponseAsync),
        ("access summary: no subject", StatusCode.InvalidArgument, c => c.GetAccessSummaryAsync(new GetAccessSummaryRequest { Scope = Object("organization:northwind") }).ResponseAsync),
        ("access summary: unknown scope type", StatusCode.InvalidArgument, c => c.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:paul"), Scope = Object("tenant:northwind") }).ResponseAsync),

        // ListAuditEvents (the owner's key is not an admin key, so these name a resource)
        ("audit: negative page size", StatusCode.InvalidArgument, c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:northwind"), PageSize = -1 }).ResponseAsync),
        ("audit: page size over 1,000", StatusCode.InvalidArgument, c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:northwind"), PageSize = 1001 }).ResponseAsync),
        ("audit: garbage page token", StatusCode.InvalidArgument, c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:northwind"), PageToken = "not-a-token" }).ResponseAsync),
        ("audit: negative page token", StatusCode.InvalidArgument, c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:northwind"), PageToken = "-5" }).ResponseAsync),
        ("audit: empty resource id", StatusCode.InvalidArgument, c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:") }).ResponseAsync),
        ("audit: unknown resource type", StatusCode.InvalidArgument, c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("widget:northwind") }).ResponseAsync),

        // CreatePersonalApiKey / RevokePersonalApiKey
        ("personal key: no scope", StatusCode.InvalidArgument, c => c.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Kind = KeyKind.Check }).ResponseAsync),
        ("personal key: admin kind", StatusCode.InvalidArgument, c => c.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Scope = Object("organization:northwind"), Kind = KeyKind.Admin }).ResponseAsync),
        ("personal key: no kind", StatusCode.InvalidArgument, c => c.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Scope = Object("organization:northwind") }).ResponseAsync),
        ("personal key: unknown scope type", StatusCode.InvalidArgument, c => c.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Scope = Object("tenant:northwind"), Kind = KeyKind.Check }).ResponseAsync),
        ("personal key: 257-character description", StatusCode.InvalidArgument, c => c.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Scope = Object("organization:northwind"), Kind = KeyKind.Check, Description = new string('d', 257) }).ResponseAsync),
        ("revoke personal key: malformed id", StatusCode.InvalidArgument, c => c.RevokePersonalApiKeyAsync(new RevokePersonalApiKeyRequest { KeyId = "not a key id" }).ResponseAsync),
        ("revoke personal key: unknown id", StatusCode.NotFound, c => c.RevokePersonalApiKeyAsync(new RevokePersonalApiKeyRequest { KeyId = "k000000000000" }).ResponseAsync),
    ];

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Fact]
    public void TheTable_HasAtLeastThirtyCases_CoveringEveryRpc()
    {
        Assert.True(Cases.Count >= 30);
        Assert.Equal(Cases.Count, Cases.Select(c => c.Name).Distinct().Count());
        var rpcs = Cases.Select(c => c.Name[..c.Name.IndexOf(':', StringComparison.Ordinal)]).Distinct().Count();
        Assert.Equal(17, rpcs);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task MalformedRequests_GetThePreciseStatus_AndChangeNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = new ManagementService.ManagementServiceClient(await server.ChannelForAsync("user:olivia"));
        var admin = new ManagementService.ManagementServiceClient(server.Channel);
        var before = await Snapshot.TakeAsync(server);

        var failures = new List<string>();
        foreach (var (name, expected, call) in Cases)
        {
            foreach (var (caller, client) in new[] { ("owner", owner), ("admin key", admin) })
            {
                var status = await StatusOfAsync(() => call(client));
                // The admin key's subject holds no role in the model: a well-formed call it may not make is refused
                // for authority, never UNKNOWN; a malformed one is INVALID_ARGUMENT whoever sends it.
                var accepted = caller == "owner" || expected == StatusCode.InvalidArgument
                    ? status == expected
                    : status is StatusCode.PermissionDenied or StatusCode.NotFound or StatusCode.FailedPrecondition || status == expected;
                if (!accepted)
                {
                    failures.Add($"{name} ({caller}): expected {expected}, got {status}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await Snapshot.TakeAsync(server));
        server.AssertNoErrors();
    }

    private static async Task<StatusCode?> StatusOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    private static Task<GrantRoleResponse> Grant(ManagementService.ManagementServiceClient client, GrantRoleRequest request) => client.GrantRoleAsync(request).ResponseAsync;

    private static Task<ChangeRolesResponse> ChangeRoles(ManagementService.ManagementServiceClient client, ChangeRolesRequest request) => client.ChangeRolesAsync(request).ResponseAsync;

    private static RoleChange Item(string resource, RoleChangeMode mode, params string[] roles) => new() { Resource = Object(resource), Mode = mode, Roles = { roles } };

    // Builds the refs field by field, so that empty parts and odd characters reach the server as they are.
    private static GrantRoleRequest GrantOf(string resource, string role, string subject)
    {
        var colon = resource.IndexOf(':', StringComparison.Ordinal);
        return new GrantRoleRequest
        {
            Resource = new ObjectRef { Type = resource[..colon], Id = resource[(colon + 1)..] },
            Role = role,
            Subject = Subject(subject),
        };
    }

    private static CreateResourceRequest Creation(Action<CreateResourceRequest> change)
    {
        var request = new CreateResourceRequest { Resource = Object("project:new"), Parent = Object("organization:northwind"), Name = "New" };
        change(request);
        return request;
    }
}
