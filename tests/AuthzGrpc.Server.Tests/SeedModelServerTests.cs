using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Requirements that take more than one management call, or a query, on a seed model's own data (its validation
/// file's schema and relationships), through the generated client against a real server: the audit log read by the
/// roles the model names (R30), the owner out only through a transfer (R19), a user's summary with
/// environment-type roles and organization flags (R27, A003-13), a pending project invitation that grants nothing
/// until accepted (A003-5), one with environment-type roles (R14), a local application invitation (A004-7), personal
/// API keys (R31), member lists (R26), project-group records (R3), and environment types (R22, A003-11): a project
/// created with its production environment, which goes only with it, and a preview's type change that Check sees at once.
/// </summary>
public sealed class SeedModelServerTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _cleanup = [];

    [Fact]
    public async Task AuditLog_002_OwnersAndAdminsReadIt_ContributorsDoNot()
    {
        var server = await StartAsync("002-org-roles.yaml");
        await (await ClientAsync(server, "user:adam_admin")).GrantRoleAsync(new GrantRoleRequest
        {
            Resource = Object("organization:acme"), Role = "viewer", Subject = Subject("user:newbie"),
        });

        var events = await (await ClientAsync(server, "user:olivia_owner")).ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:acme") });
        Assert.Contains(events.Events, e => e.Actor == "user:adam_admin" && e.Operation == "GrantRole");
        Assert.NotEmpty((await (await ClientAsync(server, "user:adam_admin")).ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:acme") })).Events);

        var carl = await ClientAsync(server, "user:carl_contributor");
        var refused = await Assert.ThrowsAsync<RpcException>(() => carl.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:acme") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Fact]
    public async Task PersonalApiKeys_002_OwnersAdminsContributorsCreateThem_ActingAsThemselves()
    {
        var server = await StartAsync("002-org-roles.yaml");
        var carl = await ClientAsync(server, "user:carl_contributor");
        var created = await carl.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest
        {
            Scope = Object("organization:acme"), Kind = KeyKind.Management, Description = "carl's laptop",
        });
        Assert.Equal("user:carl_contributor", Text(created.ApiKey.Subject));

        // The key acts as carl, with carl's current role: he may list members, not grant roles.
        using var channel = server.ChannelWith(created.Key);
        var asCarl = new ManagementService.ManagementServiceClient(channel);
        await asCarl.ListMembersAsync(new ListMembersRequest { Resource = Object("organization:acme") });
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => asCarl.GrantRoleAsync(new GrantRoleRequest
        {
            Resource = Object("organization:acme"), Role = "admin", Subject = Subject("user:carl_contributor"),
        }).ResponseAsync)).StatusCode);

        // A viewer may not create one; nobody revokes another's key; carl revokes his own, which then stops working.
        var vera = await ClientAsync(server, "user:vera_viewer");
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => vera.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest
        {
            Scope = Object("organization:acme"), Kind = KeyKind.Check,
        }).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => vera.RevokePersonalApiKeyAsync(new RevokePersonalApiKeyRequest { KeyId = created.ApiKey.KeyId }).ResponseAsync)).StatusCode);
        await carl.RevokePersonalApiKeyAsync(new RevokePersonalApiKeyRequest { KeyId = created.ApiKey.KeyId });
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => asCarl.ListMembersAsync(new ListMembersRequest { Resource = Object("organization:acme") }).ResponseAsync)).StatusCode);
    }

    [Fact]
    public async Task Owner_003_CannotBeRemoved_LeavesOnlyThroughATransfer()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var mike = await ClientAsync(server, "user:mike_members");
        var removeOlivia = new RemoveMemberRequest { Resource = Object("organization:acme"), Subject = Subject("user:olivia_owner") };

        // Mike may remove users, so the owner's protection is state (A003-10, R24); ned, who may not, is refused for authority.
        var protectedOwner = await Assert.ThrowsAsync<RpcException>(() => mike.RemoveMemberAsync(removeOlivia).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, protectedOwner.StatusCode);
        Assert.StartsWith("unless owner", protectedOwner.Status.Detail, StringComparison.Ordinal);
        var ned = await ClientAsync(server, "user:ned_no_flags");
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => ned.RemoveMemberAsync(removeOlivia).ResponseAsync)).StatusCode);

        // The transfer is the way out: the former owner keeps nothing (A003-8), so nothing is left to remove.
        var transferred = await (await ClientAsync(server, "user:olivia_owner")).TransferOwnershipAsync(new TransferOwnershipRequest
        {
            Resource = Object("organization:acme"), Role = "owner", To = Subject("user:mike_members"),
        });
        var check = await server.Authorization.CheckAsync(WithConsistency(Check("user:olivia_owner", "manage_users", "organization:acme"), new Consistency { AtLeast = transferred.Changes.Revision }));
        Assert.Equal(Decision.Denied, check.Decision);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => mike.RemoveMemberAsync(removeOlivia).ResponseAsync)).StatusCode);
    }

    [Fact]
    public async Task AccessSummary_003_ShowsEnvironmentTypeRolesAndFlags_ToManageUsersHolders_Only()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var mike = await ClientAsync(server, "user:mike_members");
        var uma = await mike.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:uma_cli"), Scope = Object("organization:acme") });
        var development = Assert.Single(uma.Objects, o => Text(o.Resource) == "environment_type:web_development");
        Assert.Contains("contributor", development.Roles);
        Assert.Contains("push_code", development.Permissions);
        Assert.Contains(uma.Objects, o => Text(o.Resource) == "environment_type:web_production" && o.Roles.Contains("viewer"));

        var bill = await mike.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:bill_billing"), Scope = Object("organization:acme") });
        var organization = Assert.Single(bill.Objects, o => Text(o.Resource) == "organization:acme");
        Assert.Contains("flag_billing", organization.Roles);
        Assert.Contains("manage_billing", organization.Permissions);

        var olivia = await ClientAsync(server, "user:olivia_owner");
        Assert.Contains((await olivia.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:uma_cli"), Scope = Object("organization:acme") })).Objects,
            o => Text(o.Resource) == "environment_type:web_development");

        // `summary by view_user_summary`: nobody else, not a project admin who may remove uma from web, not uma herself.
        foreach (var (reader, subject) in new[] { ("user:ned_no_flags", "user:uma_cli"), ("user:alice_admin", "user:uma_cli"), ("user:uma_cli", "user:uma_cli") })
        {
            var client = await ClientAsync(server, reader);
            var refused = await Assert.ThrowsAsync<RpcException>(() => client.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject(subject), Scope = Object("organization:acme") }).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("view_user_summary", refused.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ProjectInvitation_003_GrantsNothingUntilAccepted()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var invited = await (await ClientAsync(server, "user:alice_admin")).InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("project:web"), Emails = { "zoe@example.com" }, Roles = { "viewer" },
        });
        var viewWeb = Check("user:zoe", "view_environment", "project:web");
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(WithConsistency(viewWeb, new Consistency { FullyConsistent = true }))).Decision);

        var accepted = await (await ClientAsync(server, "user:zoe", "zoe@example.com")).AcceptInvitationAsync(new AcceptInvitationRequest { Token = invited.Invitations[0].Token });
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(WithConsistency(viewWeb, new Consistency { AtLeast = accepted.Changes.Revision }))).Decision);
    }

    [Fact]
    public async Task MemberList_004_LabelsTeamRoles_AndTheTeamOverviewShowsLocalRoles()
    {
        var server = await StartAsync("004-team-hierarchy.yaml");
        var project = await (await ClientAsync(server, "user:pat_project_owner")).ListMembersAsync(new ListMembersRequest { Resource = Object("project:shop") });
        var tom = Assert.Single(Assert.Single(project.Members, m => Text(m.Subject) == "user:tom_team_owner").Roles, r => r.Role == "owner");
        Assert.Equal(("team owner", true, false, "team:acme"), (tom.Label, tom.Inherited, tom.Contained, Text(tom.GrantedOn)));
        var pat = Assert.Single(project.Members, m => Text(m.Subject) == "user:pat_project_owner").Roles.Single(r => r.Role == "owner");
        Assert.Equal(("owner", false, false), (pat.Label, pat.Inherited, pat.Contained));
        // A user with a role only on an application of another branch of the tree reaches nothing on the project: the
        // team's base membership grants nothing (R11), so the list, which shows who has access (A004-5), leaves him out.
        Assert.DoesNotContain(project.Members, m => Text(m.Subject) == "user:adam_app_dev");
        Assert.Equal(["team billing"], Assert.Single(project.Members, m => Text(m.Subject) == "user:bill_team_billing").Roles.Select(r => r.Label));

        // On an application, team billing and the team membership reach nothing (billing assigns profiles to projects
        // only); a project owner's role covers it.
        var application = await (await ClientAsync(server, "user:amy_app_owner")).ListMembersAsync(new ListMembersRequest { Resource = Object("application:shop-prod-api") });
        Assert.DoesNotContain(application.Members, m => Text(m.Subject) is "user:bill_team_billing" or "user:meg_member_only");
        Assert.Contains(application.Members, m => Text(m.Subject) == "user:pat_project_owner");

        var tomClient = await ClientAsync(server, "user:tom_team_owner");
        var overview = await tomClient.ListMembersAsync(new ListMembersRequest { Resource = Object("team:acme"), IncludeContained = true });
        Assert.Equal(
            ["member", "application:shop-prod-api developer"],
            Assert.Single(overview.Members, m => Text(m.Subject) == "user:adam_app_dev").Roles.Select(r => r.Label));
        Assert.True(Assert.Single(overview.Members, m => Text(m.Subject) == "user:adam_app_dev").Roles[1].Contained);
        Assert.Equal(
            ["developer", "member", "application:shop-prod-web owner"],
            Assert.Single(overview.Members, m => Text(m.Subject) == "user:cleo_combo").Roles.Select(r => r.Label));

        var plain = await tomClient.ListMembersAsync(new ListMembersRequest { Resource = Object("team:acme") });
        Assert.Equal(["member"], Assert.Single(plain.Members, m => Text(m.Subject) == "user:adam_app_dev").Roles.Select(r => r.Label));

        var stranger = await ClientAsync(server, "user:stranger");
        var refused = await Assert.ThrowsAsync<RpcException>(() => stranger.ListMembersAsync(new ListMembersRequest { Resource = Object("team:acme"), IncludeContained = true }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Fact]
    public async Task MemberList_001_ARemovedMember_IsNotListed_AndPlatformUsersSeeNoProject()
    {
        var server = await StartAsync("001-project-groups.yaml");
        var otto = await ClientAsync(server, "user:otto_project_owner");
        await otto.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("project:handbook"), Subject = Subject("user:gwen_guest") });

        // Gwen is still a platform user, which grants nothing on the project (R11): the list shows who has access (A004-5).
        var members = await otto.ListMembersAsync(new ListMembersRequest { Resource = Object("project:handbook") });
        Assert.DoesNotContain(members.Members, m => Text(m.Subject) == "user:gwen_guest");
        Assert.DoesNotContain(members.Members.SelectMany(m => m.Roles), r => Text(r.GrantedOn) == "platform:main" && r.Role == "member");
        Assert.Contains(members.Members, m => Text(m.Subject) == "user:petra_platform_owner" && m.Roles.Any(r => r.Label == "platform owner"));

        // A platform user with no project reads neither the project, nor its members, nor the platform's projects (R28).
        var ulf = await ClientAsync(server, "user:ulf_no_projects");
        foreach (var call in new Func<Task>[]
        {
            () => ulf.GetResourceAsync(new GetResourceRequest { Resource = Object("project:handbook") }).ResponseAsync,
            () => ulf.ListMembersAsync(new ListMembersRequest { Resource = Object("project:handbook") }).ResponseAsync,
            () => ulf.ListMembersAsync(new ListMembersRequest { Resource = Object("platform:main") }).ResponseAsync,
            () => ulf.ListResourcesAsync(new ListResourcesRequest { Parent = Object("platform:main"), ResourceType = "project" }).ResponseAsync,
        })
        {
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        // Max, a handbook member, lists the platform's projects: handbook only (R28).
        var projects = await (await ClientAsync(server, "user:max_no_groups")).ListResourcesAsync(new ListResourcesRequest { Parent = Object("platform:main"), ResourceType = "project" });
        Assert.Equal(["project:handbook"], projects.Resources.Select(r => Text(r.Resource)));
    }

    [Fact]
    public async Task ProjectGroups_001_NameAndDescriptionReadBack_ToProjectMembersOnly_AndTheGroupStaysInItsProject()
    {
        var server = await StartAsync("001-project-groups.yaml");
        var otto = await ClientAsync(server, "user:otto_project_owner");
        await otto.CreateResourceAsync(new CreateResourceRequest
        {
            Resource = Object("project_group:translators"), Parent = Object("project:handbook"), Name = "Translators", Description = "Documents in other languages",
        });
        await otto.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("project_group:translators"), Description = "Documents in French and German" });

        var max = await ClientAsync(server, "user:max_no_groups");
        var group = (await max.GetResourceAsync(new GetResourceRequest { Resource = Object("project_group:translators") })).Resource;
        Assert.Equal(("Translators", "Documents in French and German", "project:handbook"), (group.Name, group.Description, Text(group.Parent)));
        Assert.NotNull(group.CreatedAt);
        var groups = await max.ListResourcesAsync(new ListResourcesRequest { Parent = Object("project:handbook"), ResourceType = "project_group" });
        Assert.Equal(["project_group:authors", "project_group:guests", "project_group:release-managers", "project_group:translators"], groups.Resources.Select(r => Text(r.Resource)));
        Assert.Equal("Translators", groups.Resources.Single(r => Text(r.Resource) == "project_group:translators").Name);
        // Groups made before the service kept records (seeded relationships) have no name.
        Assert.Equal(string.Empty, groups.Resources.Single(r => Text(r.Resource) == "project_group:authors").Name);

        var stranger = await ClientAsync(server, "user:stranger");
        foreach (var call in new Func<Task>[]
        {
            () => stranger.GetResourceAsync(new GetResourceRequest { Resource = Object("project_group:translators") }).ResponseAsync,
            () => stranger.ListResourcesAsync(new ListResourcesRequest { Parent = Object("project:handbook") }).ResponseAsync,
        })
        {
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        var admin = new ManagementService.ManagementServiceClient(server.Channel);
        var missing = await Assert.ThrowsAsync<RpcException>(() => admin.GetResourceAsync(new GetResourceRequest { Resource = Object("project_group:nobody") }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        // A group belongs to exactly one project: its project link has no grant rule, so nobody adds a second one.
        var moved = await Assert.ThrowsAsync<RpcException>(() => otto.GrantRoleAsync(new GrantRoleRequest
        {
            Resource = Object("project_group:translators"), Role = "project", Subject = Subject("project:website"),
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, moved.StatusCode);
    }

    [Fact]
    public async Task ChangeRoles_003_AddsAndUpdatesRolesOnSeveralEnvironmentTypes_InOneCall()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        async Task<Decision> CheckAsync(string subject, string action, string resource, string revision) =>
            (await server.Authorization.CheckAsync(WithConsistency(Check(subject, action, resource), new Consistency { AtLeast = revision }))).Decision;
        static RoleChange Change(string resource, RoleChangeMode mode, params string[] roles) => new() { Resource = Object(resource), Mode = mode, Roles = { roles } };

        // `user:add zed -r viewer -r development:contributor -r staging:viewer` by a project admin (A003-4): one call.
        var added = await (await ClientAsync(server, "user:alice_admin")).ChangeRolesAsync(new ChangeRolesRequest
        {
            Subject = Subject("user:zed"),
            Changes =
            {
                Change("project:web", RoleChangeMode.Grant, "viewer"),
                Change("environment_type:web_development", RoleChangeMode.Grant, "contributor"),
                Change("environment_type:web_staging", RoleChangeMode.Grant, "viewer"),
            },
        });
        var revision = added.Changes.Revision;
        Assert.Equal(Decision.Allowed, await CheckAsync("user:zed", "push_code", "environment:web-dev-1", revision));
        Assert.Equal(Decision.Denied, await CheckAsync("user:zed", "ssh", "environment:web-staging", revision));
        Assert.Contains(added.Changes.Added, r => Text(r.Resource) == "organization:acme" && r.Relation == "member");

        // `user:update zed -r production:viewer,development:viewer` by a Manage-users holder (R16): zed is a project user now.
        var mike = await ClientAsync(server, "user:mike_members");
        var updated = await mike.ChangeRolesAsync(new ChangeRolesRequest
        {
            Subject = Subject("user:zed"),
            Changes =
            {
                Change("environment_type:web_production", RoleChangeMode.Set, "viewer"),
                Change("environment_type:web_development", RoleChangeMode.Set, "viewer"),
                Change("environment_type:web_staging", RoleChangeMode.Set),
            },
        });
        revision = updated.Changes.Revision;
        Assert.Equal(Decision.Denied, await CheckAsync("user:zed", "push_code", "environment:web-dev-1", revision));
        Assert.Equal(Decision.Allowed, await CheckAsync("user:zed", "branch", "environment:web-main", revision));
        Assert.Contains(updated.Changes.Removed, r => Text(r.Resource) == "environment_type:web_staging" && r.Relation == "viewer");

        // The same holder cannot bring a newcomer into the project (A003-4): nothing of the call is applied.
        var refused = await Assert.ThrowsAsync<RpcException>(() => mike.ChangeRolesAsync(new ChangeRolesRequest
        {
            Subject = Subject("user:yan"),
            Changes = { Change("environment_type:web_development", RoleChangeMode.Grant, "viewer"), Change("environment_type:web_staging", RoleChangeMode.Grant, "viewer") },
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal(Decision.Denied, await CheckAsync("user:yan", "view", "environment:web-staging", revision));
    }

    [Fact]
    public async Task EnvironmentType_003_APreviewsTypeChange_ReevaluatesCheckAtOnce_ProductionsTypeIsFixed()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var alice = await ClientAsync(server, "user:alice_admin");
        async Task<Decision> DecideAsync(string subject, string resource) =>
            (await server.Authorization.CheckAsync(Check(subject, "view", resource))).Decision;

        // dev_viewer holds a role on the development type only; web-dev-1 is a development preview.
        Assert.Equal(Decision.Allowed, await DecideAsync("user:dev_viewer", "environment:web-dev-1"));
        Assert.Equal(Decision.Denied, await DecideAsync("user:staging_viewer", "environment:web-dev-1"));

        // One GrantRole re-points the type (`single type`); the next Check, with no consistency asked, sees it.
        await alice.GrantRoleAsync(new GrantRoleRequest
        {
            Resource = Object("environment:web-dev-1"), Role = "type", Subject = Subject("environment_type:web_staging"),
        });
        Assert.Equal(Decision.Denied, await DecideAsync("user:dev_viewer", "environment:web-dev-1"));
        Assert.Equal(Decision.Allowed, await DecideAsync("user:staging_viewer", "environment:web-dev-1"));

        // The production environment's type cannot change: FAILED_PRECONDITION naming the rule, access unchanged.
        var refused = await Assert.ThrowsAsync<RpcException>(() => alice.GrantRoleAsync(new GrantRoleRequest
        {
            Resource = Object("environment:web-main"), Role = "type", Subject = Subject("environment_type:web_staging"),
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("immutable type", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(Decision.Allowed, await DecideAsync("user:prod_viewer", "environment:web-main"));
        Assert.Equal(Decision.Denied, await DecideAsync("user:staging_viewer", "environment:web-main"));
    }

    [Fact]
    public async Task Project_003_IsCreatedWithItsProductionEnvironment_WhichGoesOnlyWithIt()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var cora = await ClientAsync(server, "user:cora_creator");
        var request = new CreateResourceRequest
        {
            Resource = Object("project:shop"), Parent = Object("organization:acme"), Name = "Shop",
            Attributes = { new V1.Attribute { Relation = "environment_type", Subject = Subject("environment_type:shop_production") } },
            Children =
            {
                new CreatedChild { Resource = Object("environment_type:shop_production"), Name = "Production" },
                new CreatedChild { Resource = Object("environment:shop-main"), Name = "main" },
            },
        };

        // Without the production mark, nothing is created: the rule is named.
        request.Children[1].Attributes.Add(new V1.Attribute { Relation = "type", Subject = Subject("environment_type:shop_production") });
        var missing = await Assert.ThrowsAsync<RpcException>(() => cora.CreateResourceAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, missing.StatusCode);
        Assert.Contains("require one environment#production_of", missing.Status.Detail, StringComparison.Ordinal);

        // With it, the project, its type and its production environment exist in one revision (A003-11).
        request.Children[1].Attributes.Add(new V1.Attribute { Relation = "production_of", Subject = Subject("project:shop") });
        var created = (await cora.CreateResourceAsync(request)).Changes;
        Assert.Contains(created.Added, r => r.Resource.Id == "shop-main" && r.Relation == "production_of" && r.Subject.Object.Id == "shop");
        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:olivia_owner", "change_settings", "environment:shop-main"))).Decision);

        // The child was made by CreateResource, so it has a record to update.
        var olivia = await ClientAsync(server, "user:olivia_owner");
        await olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("environment:shop-main"), Name = "main (production)" });

        // The production environment is not deleted alone; with its project it is.
        var alone = await Assert.ThrowsAsync<RpcException>(() => olivia.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("environment:shop-main") }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, alone.StatusCode);
        Assert.Contains("require one environment#production_of", alone.Status.Detail, StringComparison.Ordinal);
        var deleted = (await olivia.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object("project:shop") })).Changes;
        Assert.Contains(deleted.Removed, r => r.Resource.Id == "shop-main" && r.Relation == "production_of");
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Check("user:olivia_owner", "view", "environment:shop-main"))).Decision);
    }

    [Fact]
    public async Task ProjectInvitation_003_WithEnvironmentTypeRoles_GrantsThemAllOnAcceptance()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var alice = await ClientAsync(server, "user:alice_admin");
        var request = new InviteMembersRequest { Resource = Object("project:web"), Emails = { "zoe@example.com" }, Roles = { "viewer" } };
        request.Grants.Add(Grant("environment_type:web_development", "contributor"));
        request.Grants.Add(Grant("environment_type:web_staging", "viewer"));

        // R14: one invitation, a project role and two environment-type roles; pending, it grants none of them.
        var invited = await alice.InviteMembersAsync(request);
        var listed = Assert.Single((await alice.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("project:web") })).Invitations);
        Assert.Equal(["viewer"], listed.Roles);
        Assert.Equal(["environment_type:web_development#contributor", "environment_type:web_staging#viewer"], listed.Grants.Select(g => $"{Text(g.Resource)}#{string.Join(",", g.Roles)}"));
        var pushDev = Check("user:zoe", "push_code", "environment:web-dev-1");
        var viewStaging = Check("user:zoe", "view", "environment:web-staging");
        foreach (var check in new[] { pushDev, viewStaging, Check("user:zoe", "view_environment", "project:web") })
        {
            Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(WithConsistency(check, new Consistency { AtLeast = invited.Revision }))).Decision);
        }

        // Accepted: every grant at once, with the base memberships (project and organization user, R23).
        var zoe = await ClientAsync(server, "user:zoe", "zoe@example.com");
        var accepted = await zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = invited.Invitations[0].Token });
        var added = accepted.Changes.Added.Select(Text).ToList();
        Assert.Contains("project:web#viewer@user:zoe", added);
        Assert.Contains("environment_type:web_development#contributor@user:zoe", added);
        Assert.Contains("environment_type:web_staging#viewer@user:zoe", added);
        Assert.Contains("organization:acme#member@user:zoe", added);
        foreach (var check in new[] { pushDev, viewStaging })
        {
            Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(WithConsistency(check, new Consistency { AtLeast = accepted.Changes.Revision }))).Decision);
        }

        var olivia = await ClientAsync(server, "user:olivia_owner");
        var summary = await olivia.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject("user:zoe"), Scope = Object("organization:acme") });
        Assert.Contains(summary.Objects, o => Text(o.Resource) == "project:web" && o.Roles.Contains("viewer"));
        Assert.Contains(summary.Objects, o => Text(o.Resource) == "environment_type:web_development" && o.Roles.Contains("contributor") && o.Permissions.Contains("push_code"));
        Assert.Contains(summary.Objects, o => Text(o.Resource) == "environment_type:web_staging" && o.Roles.Contains("viewer"));
    }

    [Fact]
    public async Task ProjectInvitation_003_WithARoleTheInviterMayNotGrant_IsRefused_AndNothingIsStored()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var alice = await ClientAsync(server, "user:alice_admin");
        var request = new InviteMembersRequest { Resource = Object("project:web"), Emails = { "zoe@example.com" }, Roles = { "viewer" } };
        request.Grants.Add(Grant("environment_type:web_development", "contributor"));

        // alice administers web, not api: a role on one of api's environment types refuses the whole invitation.
        request.Grants.Add(Grant("environment_type:api_development", "contributor"));
        var revision = await server.RevisionAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(() => alice.InviteMembersAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("environment_type:api_development", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(revision, await server.RevisionAsync());
        Assert.Empty(await server.Store.Invitations.ListAsync(new Core.Model.ObjectRef("project", "web")));

        // Only GRANT makes sense in an invitation; an object named twice is malformed.
        var revoking = new InviteMembersRequest { Resource = Object("project:web"), Emails = { "zoe@example.com" }, Roles = { "viewer" } };
        revoking.Grants.Add(new RoleChange { Resource = Object("environment_type:web_staging"), Mode = RoleChangeMode.Revoke, Roles = { "viewer" } });
        var twice = new InviteMembersRequest { Resource = Object("project:web"), Emails = { "zoe@example.com" }, Roles = { "viewer" } };
        twice.Grants.Add(Grant("project:web", "admin"));
        foreach (var malformed in new[] { revoking, twice })
        {
            Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => alice.InviteMembersAsync(malformed).ResponseAsync)).StatusCode);
        }

        Assert.Equal(revision, await server.RevisionAsync());
    }

    [Fact]
    public async Task LocalInvitation_004_GrantsNothingUntilAccepted_AndARevokedOneCannotBeAccepted()
    {
        var server = await StartAsync("004-team-hierarchy.yaml");
        var tom = await ClientAsync(server, "user:tom_team_owner");
        var local = new InviteMembersRequest { Resource = Object("application:shop-prod-api"), Emails = { "zoe@example.com, yan@example.com" }, Roles = { "developer" } };
        var invited = await tom.InviteMembersAsync(local);
        var (zoeInvitation, yanInvitation) = (invited.Invitations[0], invited.Invitations[1]);

        // A004-7: pending, the application-level invitation grants nothing, not even the team membership.
        var deployZoe = Check("user:zoe", "deploy", "application:shop-prod-api");
        var teamZoe = Check("user:zoe", "member", "team:acme");
        foreach (var check in new[] { deployZoe, teamZoe })
        {
            Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(WithConsistency(check, new Consistency { AtLeast = invited.Revision }))).Decision);
        }

        // Accepted: the application role, and a team member (R23), nothing beside it.
        var zoe = await ClientAsync(server, "user:zoe", "zoe@example.com");
        var accepted = await zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = zoeInvitation.Token });
        Assert.Contains("team:acme#member@user:zoe", accepted.Changes.Added.Select(Text));
        foreach (var (check, decision) in new[] { (deployZoe, Decision.Allowed), (teamZoe, Decision.Allowed), (Check("user:zoe", "view", "application:shop-prod-web"), Decision.Denied) })
        {
            Assert.Equal(decision, (await server.Authorization.CheckAsync(WithConsistency(check, new Consistency { AtLeast = accepted.Changes.Revision }))).Decision);
        }

        // A004-7: a revoked one cannot be accepted, and grants nothing.
        await tom.RevokeInvitationAsync(new RevokeInvitationRequest { Id = yanInvitation.Id });
        var revision = await server.RevisionAsync();
        var yan = await ClientAsync(server, "user:yan", "yan@example.com");
        var refused = await Assert.ThrowsAsync<RpcException>(() => yan.AcceptInvitationAsync(new AcceptInvitationRequest { Token = yanInvitation.Token }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("revoked", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(revision, await server.RevisionAsync());
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(WithConsistency(Check("user:yan", "deploy", "application:shop-prod-api"), new Consistency { FullyConsistent = true }))).Decision);
    }

    [Fact]
    public async Task ProjectList_003_ListHoldersSeeEveryProject_OthersTheirOwn()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        async Task<List<string>> ListAsync(string subject)
        {
            using var call = server.Authorization.LookupResources(new LookupResourcesRequest { Subject = Subject(subject), Action = "list", ResourceType = "project" });
            var projects = new List<string>();
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                projects.Add(Text(response.Resource));
            }

            return projects;
        }

        // R10/R28: projects:list shows every project of the organization, and gives no access to any.
        Assert.Equal(["project:api", "project:docs", "project:web"], await ListAsync("user:lisa_lister"));
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Check("user:lisa_lister", "view_environment", "project:web"))).Decision);

        // Without it, one's own projects only (a project role or an environment-type role); none for a new user (R11).
        Assert.Equal(["project:web"], await ListAsync("user:victor_viewer"));
        Assert.Equal(["project:web"], await ListAsync("user:dev_viewer"));
        Assert.Empty(await ListAsync("user:ned_no_flags"));
    }

    [Fact]
    public async Task FlagInvitation_003_ShowsItsCondition_AndTheOwnerCannotAcceptIt()
    {
        var server = await StartAsync("003-envtype-roles.yaml");
        var mike = await ClientAsync(server, "user:mike_members");
        var invited = await mike.InviteMembersAsync(new InviteMembersRequest
        {
            Resource = Object("organization:acme"), Emails = { "olivia@example.com", "ned@example.com" }, Roles = { "flag_members" },
        });

        // mike's rule for flags spares the owner (`unless owner`, R19): the invitee is unknown, so the invitation says so.
        var listed = (await mike.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("organization:acme") })).Invitations;
        Assert.All(listed, i => Assert.Equal(("organization:acme", "flag_members", "unless owner"), (Text(Assert.Single(i.Conditions).Resource), i.Conditions[0].Role, Assert.Single(i.Conditions[0].AnyOf))));

        // The owner accepting it would have her permissions edited: refused, nothing granted, still pending.
        var olivia = await ClientAsync(server, "user:olivia_owner", "olivia@example.com");
        var revision = await server.RevisionAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(() => olivia.AcceptInvitationAsync(new AcceptInvitationRequest { Token = invited.Invitations[0].Token }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.StartsWith("unless owner", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(revision, await server.RevisionAsync());

        // Anyone else accepts it.
        var ned = await ClientAsync(server, "user:ned_no_flags", "ned@example.com");
        var accepted = await ned.AcceptInvitationAsync(new AcceptInvitationRequest { Token = invited.Invitations[1].Token });
        Assert.Contains("organization:acme#flag_members@user:ned_no_flags", accepted.Changes.Added.Select(Text));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var item in Enumerable.Reverse(_cleanup))
        {
            await item.DisposeAsync();
        }
    }

    // A management key for the subject; with an email, the key carries it as verified (what accepting needs).
    private static async Task<ManagementService.ManagementServiceClient> ClientAsync(StoreServer server, string subject, string? email = null) =>
        new(await server.ChannelForAsync(subject, email: email));

    private static RoleChange Grant(string resource, string role) => new() { Resource = Object(resource), Mode = RoleChangeMode.Grant, Roles = { role } };

    // A server seeded with the validation file's schema and relationships, stopped when the test ends.
    private async Task<StoreServer> StartAsync(string file)
    {
        var seeded = await SeedModelServer.StartAsync(file);
        _cleanup.Add(seeded);
        return seeded.Server;
    }
}
