using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Authority comes first, for every management RPC (R24): a caller without authority gets the same status and message
/// whether the target exists, holds the role or not, so a refusal discloses nothing of the state. Every RPC of
/// ManagementService (discovered from the service descriptor, so a new one fails the test until it has a request
/// builder) is called on the default model's data, as a stranger and as a user who holds only the organization's base
/// membership, with groups of variants that differ only in the target's state; within a group the answers must be
/// identical once the target's names are replaced by a placeholder.
/// </summary>
public sealed class ManagementAuthorityFirstTests
{
    // A call of one RPC, and the names of its target that the message may quote (replaced before comparing).
    private sealed record Variant(string Name, Func<ManagementService.ManagementServiceClient, Task> Call, params string[] Names);

    // The state-free answer of one variant: status and message with the target's names replaced.
    private static async Task<(StatusCode Status, string Message)> AnswerAsync(ManagementService.ManagementServiceClient client, Variant variant)
    {
        try
        {
            await variant.Call(client);
            return (StatusCode.OK, string.Empty);
        }
        catch (RpcException e)
        {
            var message = variant.Names.OrderByDescending(n => n.Length).Aggregate(e.Status.Detail, (text, name) => text.Replace(name, "<target>", StringComparison.Ordinal));
            return (e.StatusCode, message);
        }
    }

    // RPCs whose target is a secret the caller holds, not state it could probe: the invitation token is the invitee's
    // proof (a caller with someone else's valid token was sent it), so NOT_FOUND for an unknown token stays.
    private static readonly Dictionary<string, string> Exempt = new(StringComparer.Ordinal)
    {
        ["AcceptInvitation"] = "the token is the invitee's secret",
    };

    [Fact]
    public async Task EveryManagementRpc_RefusesACallerWithoutAuthority_AlikeWhateverTheTargetsState()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var olivia = new ManagementService.ManagementServiceClient(await server.ChannelForAsync("user:olivia"));

        // State the variants probe: an invitation and a personal key that exist.
        var invitation = (await olivia.InviteMembersAsync(new InviteMembersRequest { Resource = Object("organization:northwind"), Emails = { "zoe@example.com" }, Roles = { "viewer" } })).Invitations[0].Id;
        var key = (await olivia.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Scope = Object("organization:northwind"), Kind = KeyKind.Check })).ApiKey.KeyId;
        const string MissingInvitation = "inv_000000000000000000000000";
        await server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Touch, "organization:northwind#member@user:walk_member")));

        var groups = Groups(invitation, MissingInvitation, key);
        var rpcs = ManagementService.Descriptor.Methods.Select(m => m.Name).ToList();
        Assert.DoesNotContain(rpcs, rpc => !groups.ContainsKey(rpc) && !Exempt.ContainsKey(rpc));

        var before = await server.RevisionAsync();
        var differences = new List<string>();
        foreach (var caller in new[] { "user:walk_stranger", "user:walk_member" })
        {
            var client = new ManagementService.ManagementServiceClient(await server.ChannelForAsync(caller));
            foreach (var (rpc, variantGroups) in groups)
            {
                foreach (var group in variantGroups)
                {
                    var answers = new List<(string Variant, StatusCode Status, string Message)>();
                    foreach (var variant in group)
                    {
                        var (status, message) = await AnswerAsync(client, variant);
                        answers.Add((variant.Name, status, message));
                    }

                    if (answers.Any(a => a.Status is StatusCode.OK or StatusCode.InvalidArgument))
                    {
                        differences.Add($"{rpc} as {caller}: a caller without authority was not refused: {string.Join("; ", answers.Select(a => $"{a.Variant}: {a.Status}"))}");
                    }
                    else if (answers.Select(a => (a.Status, a.Message)).Distinct().Count() > 1)
                    {
                        differences.Add($"{rpc} as {caller}: {string.Join(" | ", answers.Select(a => $"{a.Variant}: {a.Status} \"{a.Message}\""))}");
                    }
                }
            }
        }

        Assert.Empty(differences);
        Assert.Equal(before, await server.RevisionAsync());
        server.AssertNoErrors();
    }

    // Per RPC, groups of calls that differ only in the state of their target: an existing object or a missing one, a
    // subject that holds the role or one that holds nothing.
    private static Dictionary<string, List<Variant[]>> Groups(string invitation, string missingInvitation, string key)
    {
        const string Project = "project:payments", Missing = "project:walk_missing", Holder = "user:paul", Ghost = "user:ghost";
        string[] names = [Project, Missing, Holder, Ghost];
        Variant[] RoleVariants(Func<string, string, Func<ManagementService.ManagementServiceClient, Task>> call) =>
        [
            new("existing object, subject holds the role", call(Project, Holder), names),
            new("existing object, subject holds nothing", call(Project, Ghost), names),
            new("missing object", call(Missing, Holder), names),
        ];

        RoleChange Change(string resource, RoleChangeMode mode, string role) => new() { Resource = Object(resource), Mode = mode, Roles = { role } };
        const string Group = "project_group:storefront-writers", MissingGroup = "project_group:walk_missing";
        string[] groupNames = [Group, MissingGroup, "project_group:walk_new", "project:storefront", Missing];
        string[] orgNames = ["organization:northwind", "organization:walk_missing", Holder, Ghost, "user:olivia"];
        return new(StringComparer.Ordinal)
        {
            ["GrantRole"] = [RoleVariants((o, s) => c => c.GrantRoleAsync(new GrantRoleRequest { Resource = Object(o), Role = "admin", Subject = Subject(s) }).ResponseAsync)],
            ["RevokeRole"] = [RoleVariants((o, s) => c => c.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object(o), Role = "admin", Subject = Subject(s) }).ResponseAsync)],
            ["SetRoles"] = [RoleVariants((o, s) => c => c.SetRolesAsync(new SetRolesRequest { Resource = Object(o), Subject = Subject(s), Roles = { "viewer" } }).ResponseAsync)],
            ["ChangeRoles"] =
            [
                RoleVariants((o, s) => c => c.ChangeRolesAsync(new ChangeRolesRequest { Subject = Subject(s), Changes = { Change(o, RoleChangeMode.Grant, "viewer") } }).ResponseAsync),
                RoleVariants((o, s) => c => c.ChangeRolesAsync(new ChangeRolesRequest { Subject = Subject(s), Changes = { Change(o, RoleChangeMode.Revoke, "admin") } }).ResponseAsync),
            ],
            ["RemoveMember"] =
            [
                RoleVariants((o, s) => c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object(o), Subject = Subject(s) }).ResponseAsync),
                [
                    new("the owner", c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject("user:olivia") }).ResponseAsync, orgNames),
                    new("a user who holds nothing", c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject(Ghost) }).ResponseAsync, orgNames),
                ],

                // The dry run (the cascade report) is refused exactly as the removal is.
                RoleVariants((o, s) => c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object(o), Subject = Subject(s), DryRun = true }).ResponseAsync),
                [
                    new("a dry run on the owner", c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject("user:olivia"), DryRun = true }).ResponseAsync, orgNames),
                    new("a dry run on a user who holds nothing", c => c.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:northwind"), Subject = Subject(Ghost), DryRun = true }).ResponseAsync, orgNames),
                ],
            ],
            ["RemoveMembers"] =
            [
                RoleVariants((o, s) => c => c.RemoveMembersAsync(new RemoveMembersRequest { Resource = Object(o), Subjects = { Subject(s), Subject("user:walk_member") } }).ResponseAsync),
                [
                    new("the owner among them", c => c.RemoveMembersAsync(new RemoveMembersRequest { Resource = Object("organization:northwind"), Subjects = { Subject(Holder), Subject("user:olivia") } }).ResponseAsync, orgNames),
                    new("a user who holds nothing among them", c => c.RemoveMembersAsync(new RemoveMembersRequest { Resource = Object("organization:northwind"), Subjects = { Subject(Holder), Subject(Ghost) } }).ResponseAsync, orgNames),
                ],
            ],
            ["Leave"] =
            [[
                new("existing object", c => c.LeaveAsync(new LeaveRequest { Resource = Object("organization:northwind") }).ResponseAsync, orgNames),
                new("missing object", c => c.LeaveAsync(new LeaveRequest { Resource = Object("organization:walk_missing") }).ResponseAsync, orgNames),
            ]],
            ["TransferOwnership"] =
            [[
                new("existing object", c => c.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:northwind"), Role = "owner", To = Subject(Holder) }).ResponseAsync, orgNames),
                new("missing object", c => c.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = Object("organization:walk_missing"), Role = "owner", To = Subject(Holder) }).ResponseAsync, orgNames),
            ]],
            ["CreateResource"] =
            [[
                new("new object, existing parent", c => c.CreateResourceAsync(new CreateResourceRequest { Resource = Object("project_group:walk_new"), Parent = Object("project:storefront") }).ResponseAsync, groupNames),
                new("existing object", c => c.CreateResourceAsync(new CreateResourceRequest { Resource = Object(Group), Parent = Object("project:storefront") }).ResponseAsync, groupNames),
                new("missing parent", c => c.CreateResourceAsync(new CreateResourceRequest { Resource = Object("project_group:walk_new"), Parent = Object(Missing) }).ResponseAsync, groupNames),
            ]],
            ["UpdateResource"] =
            [[
                new("existing object", c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object(Group), Name = "Mine" }).ResponseAsync, groupNames),
                new("missing object", c => c.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object(MissingGroup), Name = "Mine" }).ResponseAsync, groupNames),
            ]],
            ["DeleteResource"] =
            [[
                new("existing object", c => c.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object(Group) }).ResponseAsync, groupNames),
                new("missing object", c => c.DeleteResourceAsync(new DeleteResourceRequest { Resource = Object(MissingGroup) }).ResponseAsync, groupNames),
            ]],
            ["GetResource"] =
            [[
                new("existing object", c => c.GetResourceAsync(new GetResourceRequest { Resource = Object(Project) }).ResponseAsync, names),
                new("missing object", c => c.GetResourceAsync(new GetResourceRequest { Resource = Object(Missing) }).ResponseAsync, names),
            ]],
            ["ListResources"] =
            [[
                new("existing parent", c => c.ListResourcesAsync(new ListResourcesRequest { Parent = Object(Project) }).ResponseAsync, names),
                new("missing parent", c => c.ListResourcesAsync(new ListResourcesRequest { Parent = Object(Missing) }).ResponseAsync, names),
            ]],
            ["ListMembers"] =
            [[
                new("existing object", c => c.ListMembersAsync(new ListMembersRequest { Resource = Object(Project) }).ResponseAsync, names),
                new("missing object", c => c.ListMembersAsync(new ListMembersRequest { Resource = Object(Missing) }).ResponseAsync, names),
            ]],
            ["GetAccessSummary"] =
            [[
                new("existing subject and scope", c => c.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject(Holder), Scope = Object("organization:northwind") }).ResponseAsync, orgNames),
                new("subject with nothing", c => c.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject(Ghost), Scope = Object("organization:northwind") }).ResponseAsync, orgNames),
                new("missing scope", c => c.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject(Holder), Scope = Object("organization:walk_missing") }).ResponseAsync, orgNames),
            ]],
            ["ListAuditEvents"] =
            [[
                new("existing object", c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:northwind") }).ResponseAsync, orgNames),
                new("missing object", c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object("organization:walk_missing") }).ResponseAsync, orgNames),
            ]],
            ["WatchEvents"] =
            [[
                new("an event that exists", c => ReadOneAsync(c.WatchEvents(new WatchEventsRequest { AfterId = "1" }))),
                new("an event that does not", c => ReadOneAsync(c.WatchEvents(new WatchEventsRequest { AfterId = "999999" }))),
            ]],
            ["CreatePersonalApiKey"] =
            [[
                new("existing scope", c => c.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Scope = Object("organization:northwind"), Kind = KeyKind.Check }).ResponseAsync, orgNames),
                new("missing scope", c => c.CreatePersonalApiKeyAsync(new CreatePersonalApiKeyRequest { Scope = Object("organization:walk_missing"), Kind = KeyKind.Check }).ResponseAsync, orgNames),
            ]],
            ["RevokePersonalApiKey"] =
            [[
                new("another subject's key", c => c.RevokePersonalApiKeyAsync(new RevokePersonalApiKeyRequest { KeyId = key }).ResponseAsync, key, "walkmissing0"),
                new("a key that does not exist", c => c.RevokePersonalApiKeyAsync(new RevokePersonalApiKeyRequest { KeyId = "walkmissing0" }).ResponseAsync, key, "walkmissing0"),
            ]],
            ["InviteMembers"] =
            [[
                new("existing object", c => c.InviteMembersAsync(new InviteMembersRequest { Resource = Object(Project), Emails = { "yan@example.com" }, Roles = { "viewer" } }).ResponseAsync, names),
                new("missing object", c => c.InviteMembersAsync(new InviteMembersRequest { Resource = Object(Missing), Emails = { "yan@example.com" }, Roles = { "viewer" } }).ResponseAsync, names),
            ]],
            ["ListInvitations"] =
            [[
                new("an object with an invitation", c => c.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("organization:northwind") }).ResponseAsync, orgNames),
                new("missing object", c => c.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("organization:walk_missing") }).ResponseAsync, orgNames),
            ]],
            ["ResendInvitation"] =
            [[
                new("an invitation that exists", c => c.ResendInvitationAsync(new ResendInvitationRequest { Id = invitation }).ResponseAsync, invitation, missingInvitation),
                new("one that does not", c => c.ResendInvitationAsync(new ResendInvitationRequest { Id = missingInvitation }).ResponseAsync, invitation, missingInvitation),
            ]],
            ["RevokeInvitation"] =
            [[
                new("an invitation that exists", c => c.RevokeInvitationAsync(new RevokeInvitationRequest { Id = invitation }).ResponseAsync, invitation, missingInvitation),
                new("one that does not", c => c.RevokeInvitationAsync(new RevokeInvitationRequest { Id = missingInvitation }).ResponseAsync, invitation, missingInvitation),
            ]],
        };
    }

    // A server stream's first message (or its end): where a refusal of the stream shows.
    private static async Task ReadOneAsync(AsyncServerStreamingCall<ManagementEvent> call)
    {
        using (call)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await call.ResponseStream.MoveNext(timeout.Token);
        }
    }
}
