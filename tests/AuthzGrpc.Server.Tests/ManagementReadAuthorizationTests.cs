using AuthzGrpc.Core.Schema;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Every read of management data is authorized by the model's permission for it, the answer Check gives (R11: a role or
/// a membership alone shows nothing the model does not grant). On each seed model's own data, over gRPC against a real
/// server, each read RPC of ManagementService (discovered from the service descriptor: unary Get… and List…) is called
/// by one caller per role band of the model — a fresh user holding exactly one role of a type (with the base
/// memberships a grant implies), so the base membership alone is a band too — and by a stranger, on an object of every
/// type and on a missing one, and its allow/deny is compared with Check of the governing permission.
/// </summary>
public sealed class ManagementReadAuthorizationTests
{
    public static TheoryData<string> SeedModels() =>
        ["000-account-roles.yaml", "001-project-groups.yaml", "002-org-roles.yaml", "003-envtype-roles.yaml", "004-team-hierarchy.yaml", "default.yaml"];

    // The governing permission of each read RPC, as the test reads it from the model: (allowed by the RPC, allowed by Check).
    private delegate Task<(bool Rpc, bool Check, string What)> ReadProbe(Walk walk, string caller, TypeDefinition type, string target);

    private static readonly Dictionary<string, ReadProbe> Probes = new(StringComparer.Ordinal)
    {
        ["GetResource"] = async (walk, caller, type, target) => (
            await walk.AllowedAsync(caller, c => c.GetResourceAsync(new GetResourceRequest { Resource = Object(target) }).ResponseAsync),
            await walk.CheckAsync(caller, type.Rules.Read, target),
            $"read by {type.Rules.Read?.Name ?? "(none)"}"),
        ["ListMembers"] = async (walk, caller, type, target) => (
            await walk.AllowedAsync(caller, c => c.ListMembersAsync(new ListMembersRequest { Resource = Object(target) }).ResponseAsync),
            await walk.CheckAsync(caller, type.Rules.Members, target),
            $"members by {type.Rules.Members?.Name ?? "(none)"}"),
        ["ListAuditEvents"] = async (walk, caller, type, target) => (
            await walk.AllowedAsync(caller, c => c.ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Object(target) }).ResponseAsync),
            await walk.CheckAsync(caller, type.Rules.Audit, target),
            $"audit by {type.Rules.Audit?.Name ?? "(none)"}"),
        ["GetAccessSummary"] = async (walk, caller, type, target) =>
        {
            // Of the caller itself and of a user of the seed data: 'summary by p', or without the rule the subject itself
            // and those with the permission of some revoke rule there.
            var (rpc, check) = (true, true);
            foreach (var subject in new[] { caller, walk.SomeUser })
            {
                rpc &= await walk.AllowedAsync(caller, c => c.GetAccessSummaryAsync(new GetAccessSummaryRequest { Subject = Subject(subject), Scope = Object(target) }).ResponseAsync);
                check &= type.Rules.Summary is { } summary
                    ? await walk.CheckAsync(caller, summary, target)
                    : subject == caller || await walk.AnyAsync(caller, type.Rules.Revoke.Values.SelectMany(r => r).Select(r => r.By).Distinct(), target);
            }

            return (rpc, check, $"summary by {type.Rules.Summary?.Name ?? "(the subject, or a revoke rule's permission)"}");
        },
        ["ListInvitations"] = async (walk, caller, type, target) =>
        {
            // Whoever may invite with some role there: Check's 'invite' with that target_role.
            var check = false;
            foreach (var role in type.Rules.Grant.Keys.Select(r => r.Name).Order(StringComparer.Ordinal))
            {
                var request = WithConsistency(Check(caller, "invite", target), new Consistency { FullyConsistent = true });
                request.Context = new CheckContext { TargetRole = role };
                check |= (await walk.Server.Authorization.CheckAsync(request)).Decision == Decision.Allowed;
            }

            return (await walk.AllowedAsync(caller, c => c.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object(target) }).ResponseAsync), check, "invite with some role");
        },
        ["ListResources"] = async (walk, caller, type, target) =>
        {
            // The objects listed are exactly the children whose 'read by' permission Check gives the caller; the call is
            // refused when it gives neither the parent's nor any child's.
            var all = await walk.Admin.ListResourcesAsync(new ListResourcesRequest { Parent = Object(target) });
            var readable = new List<string>();
            foreach (var child in all.Resources.Select(r => Text(r.Resource)))
            {
                if (await walk.CheckAsync(caller, walk.Schema.RequireType(child.Split(':')[0]).Rules.Read, child))
                {
                    readable.Add(child);
                }
            }

            var check = readable.Count > 0 || await walk.CheckAsync(caller, type.Rules.Read, target);
            try
            {
                var listed = await (await walk.ClientAsync(caller)).ListResourcesAsync(new ListResourcesRequest { Parent = Object(target) });
                Assert.Equal(readable, listed.Resources.Select(r => Text(r.Resource)));
                return (true, check, "read by, per child");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
            {
                return (false, check, "read by, per child");
            }
        },
    };

    [Fact]
    public void EveryReadRpc_HasItsGoverningPermission()
    {
        Assert.Equal(ReadRpcs().Order(StringComparer.Ordinal), Probes.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(SeedModels))]
    public async Task EveryReadRpc_AllowsExactlyTheRoleBandsCheckAllows(string file)
    {
        var validation = ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", file));
        await using var seeded = await SeedModelServer.StartAsync(validation);
        var walk = new Walk(seeded.Server, CompiledSchema.Compile(validation.SchemaText), validation);

        var callers = await walk.RoleBandsAsync();
        callers.Add("user:walk_stranger");
        var targets = walk.Schema.Types.Where(t => t.Members.Count > 0)
            .SelectMany(t => walk.ObjectOf(t) is { } existing ? [(t, existing), (t, $"{t.Name}:walk_missing")] : new[] { (t, $"{t.Name}:walk_missing") })
            .ToList();

        var mismatches = new List<string>();
        var (allowed, denied) = (0, 0);
        foreach (var rpc in ReadRpcs())
        {
            foreach (var caller in callers)
            {
                foreach (var (type, target) in targets)
                {
                    var (byRpc, byCheck, what) = await Probes[rpc](walk, caller, type, target);
                    (allowed, denied) = byRpc ? (allowed + 1, denied) : (allowed, denied + 1);
                    if (byRpc != byCheck)
                    {
                        mismatches.Add($"{rpc} {target} as {caller}: the call {(byRpc ? "allows" : "refuses")}, Check of {what} says {(byCheck ? "allowed" : "denied")}");
                    }
                }
            }
        }

        Assert.Empty(mismatches);

        // The walk saw both answers: the model grants some reads and refuses others.
        Assert.True(allowed > 0 && denied > 0, $"allowed {allowed}, denied {denied}");
        seeded.Server.AssertNoErrors();
    }

    // The unary reads of ManagementService: every Get… and List… method.
    private static List<string> ReadRpcs() =>
        [.. ManagementService.Descriptor.Methods
            .Where(m => !m.IsClientStreaming && !m.IsServerStreaming && (m.Name.StartsWith("Get", StringComparison.Ordinal) || m.Name.StartsWith("List", StringComparison.Ordinal)))
            .Select(m => m.Name)];

    // One seed model's server, schema and data, with the calls the probes make.
    private sealed class Walk(StoreServer server, CompiledSchema schema, ValidationFile validation)
    {
        public StoreServer Server { get; } = server;

        public CompiledSchema Schema { get; } = schema;

        public ManagementService.ManagementServiceClient Admin { get; } = new(server.Channel);

        // A user the seed data names, whose access summary others ask for.
        public string SomeUser { get; } = validation.Relationships.Select(r => r.Subject).First(s => s.Type == "user" && !s.IsSubjectSet && !s.IsWildcard).ToString();

        // The first object of the type in the seed data (as a relationship's resource), if any.
        public string? ObjectOf(TypeDefinition type) =>
            validation.Relationships.Select(r => r.Resource).Where(o => o.Type == type.Name).Select(o => o.ToString()).FirstOrDefault();

        public async Task<ManagementService.ManagementServiceClient> ClientAsync(string caller) => new(await Server.ChannelForAsync(caller));

        // Whether the call is allowed: anything but PERMISSION_DENIED (a missing object an authorised caller reads is NOT_FOUND).
        public async Task<bool> AllowedAsync(string caller, Func<ManagementService.ManagementServiceClient, Task> call)
        {
            try
            {
                await call(await ClientAsync(caller));
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
            {
                return false;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                return true;
            }
        }

        // Check of the permission (none declared: denied, as the rule's absence means admin keys only).
        public async Task<bool> CheckAsync(string caller, MemberDefinition? permission, string target) =>
            permission is not null &&
            (await Server.Authorization.CheckAsync(WithConsistency(Check(caller, permission.Name, target), new Consistency { FullyConsistent = true }))).Decision == Decision.Allowed;

        public async Task<bool> AnyAsync(string caller, IEnumerable<MemberDefinition> permissions, string target)
        {
            foreach (var permission in permissions)
            {
                if (await CheckAsync(caller, permission, target))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>
        /// One fresh user per role of every type that has roles, on the first object of the type in the seed data, with
        /// the base memberships of the objects above it (what a grant adds): written with the admin key.
        /// </summary>
        public async Task<List<string>> RoleBandsAsync()
        {
            var bands = new List<string>();
            var updates = new List<RelationshipUpdate>();
            var user = Schema.RequireType("user");
            foreach (var type in Schema.Types.Where(t => t.Rules.Roles.Count > 0))
            {
                if (ObjectOf(type) is not { } target)
                {
                    continue;
                }

                foreach (var role in type.Rules.Roles.Where(r => r.Allows(user, null, wildcard: false)).OrderBy(r => r.Name, StringComparer.Ordinal))
                {
                    var band = $"user:walk_{type.Name}_{role.Name}";
                    bands.Add(band);
                    updates.Add(Update(Operation.Touch, $"{target}#{role.Name}@{band}"));
                    foreach (var above in Above(target))
                    {
                        if (Schema.RequireType(above.Split(':')[0]).Rules.Base is { } membership && membership.Allows(user, null, wildcard: false))
                        {
                            updates.Add(Update(Operation.Touch, $"{above}#{membership.Name}@{band}"));
                        }
                    }
                }
            }

            await Server.Relationships.WriteRelationshipsAsync(new WriteRelationshipsRequest { Updates = { updates.DistinctBy(u => Text(u.Relationship)) } });
            return bands;
        }

        // The objects above one, through each type's parent relation in the seed data.
        private IEnumerable<string> Above(string target)
        {
            for (var current = target; ;)
            {
                var type = Schema.RequireType(current.Split(':')[0]);
                if (type.Rules.Parent is not { } parent)
                {
                    yield break;
                }

                var up = validation.Relationships.Where(r => r.Resource.ToString() == current && r.Relation == parent.Name).Select(r => r.Subject.Object.ToString()).FirstOrDefault();
                if (up is null)
                {
                    yield break;
                }

                current = up;
                yield return current;
            }
        }
    }
}
