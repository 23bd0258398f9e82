using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using Model = AuthzGrpc.Core.Model;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Every management case of every model's validation file (the seeds' management rules, each allowed and refused),
/// run through the generated ManagementService client against a real server on loopback with a real SQLite file,
/// each caller with an API key of its own carrying an address of its own (an accept case: the invitation to that address
/// is made by its inviter through InviteMembers, or stored, then accepted by token over gRPC).
/// A refused case must change nothing (same revision); an accepted case's
/// follow-up checks must hold, and its changes are then reverted so that every case starts from the file's data.
/// </summary>
public sealed class ManagementCasesTests
{
    public static TheoryData<string, string> ModelFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var provider in TestDatabase.ProviderNames)
        {
            foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "models"), "*.yaml").Order(StringComparer.Ordinal))
            {
                data.Add(provider, Path.GetFileName(file));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModelFiles))]
    public async Task ManagementCases_OverGrpc_HaveTheExpectedOutcome(string provider, string file)
    {
        var validation = ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", file));
        await using var seeded = await SeedModelServer.StartAsync(validation, provider);

        await RunAsync(validation, new OneServer(seeded.Server));
    }

    /// <summary>
    /// Runs every management case of <paramref name="validation"/> against <paramref name="deployment"/> (seeded with its
    /// schema and relationships) and fails listing every case whose outcome, foretelling check or follow-up checks differ.
    /// </summary>
    internal static async Task RunAsync(ValidationFile validation, IManagementCaseDeployment deployment)
    {
        var failures = new List<string>();
        var (ran, foretoldCases) = (0, 0);
        foreach (var managementCase in validation.Management)
        {
            // Each caller's key carries an address of its own, which accept cases invite.
            var caller = await deployment.WriterAsync(managementCase.Caller, EmailOf(managementCase.Caller));
            var client = new ManagementService.ManagementServiceClient(caller);

            // An accept case first needs its invitation (its own revision); an inviter refused is the case's outcome.
            var (token, refusal) = managementCase.Operation is AcceptOperation accept ? await InviteForAsync(deployment, managementCase.Caller, accept) : (null, null);

            // R25: the management check of the same operation, asked first, must foretell the call's outcome.
            var foretold = await ManagementCheckAsync(deployment.AdminChecks, managementCase.Caller, managementCase.Operation);
            var before = await deployment.RevisionAsync();
            var (outcome, changes, detail) = refusal ?? await CallAsync(client, managementCase.Operation, token);
            foretoldCases += foretold is null ? 0 : 1;
            if (foretold is { } expected && expected != Foretold(outcome))
            {
                failures.Add($"{managementCase}: the management check said {expected}, the call got {outcome}: {detail}");
            }

            ran++;
            if (outcome != managementCase.Expected)
            {
                failures.Add($"{managementCase}: expected {managementCase.Expected}, got {outcome}: {detail}");
            }
            else if (outcome != ManagementOutcome.Ok && await deployment.RevisionAsync() != before)
            {
                failures.Add($"{managementCase}: refused, but the revision moved from {before}");
            }
            else if (outcome == ManagementOutcome.Ok)
            {
                var checks = new AuthorizationService.AuthorizationServiceClient(await deployment.CheckerAsync(managementCase.Caller, EmailOf(managementCase.Caller)));
                var revision = changes?.Revision ?? (await deployment.RevisionAsync()).ToString(System.Globalization.CultureInfo.InvariantCulture);
                foreach (var assertion in managementCase.Then)
                {
                    var reply = await checks.CheckAsync(new CheckRequest
                    {
                        Resource = ProtoObject(assertion.Resource),
                        Action = assertion.Permission,
                        Subject = ProtoSubject(assertion.Subject),
                        Consistency = new Consistency { AtLeast = revision },
                    });
                    if ((reply.Decision == Decision.Allowed) != assertion.Expected)
                    {
                        failures.Add($"{managementCase}: accepted, but then {assertion} does not hold");
                    }
                }
            }

            if (changes is not null)
            {
                await deployment.RevertAsync(changes);
            }

            if (managementCase.Operation is AcceptOperation { InvitedBy: { } by } refused && token is not null && outcome != ManagementOutcome.Ok)
            {
                // A refused acceptance leaves its invitation pending; the inviter revokes it so the next case can invite again.
                var inviter = new ManagementService.ManagementServiceClient(await deployment.WriterAsync(by, EmailOf(by)));
                var pending = await inviter.ListInvitationsAsync(new ListInvitationsRequest { Resource = ProtoObject(refused.Resource) });
                foreach (var invitation in pending.Invitations.Where(i => i.Email == EmailOf(managementCase.Caller)))
                {
                    await inviter.RevokeInvitationAsync(new RevokeInvitationRequest { Id = invitation.Id });
                }
            }

            if (managementCase.Operation is InviteOperation && outcome == ManagementOutcome.Ok)
            {
                // Invitations change no relationship; the inviter revokes the one just made so the next case can invite again.
                var inviter = new ManagementService.ManagementServiceClient(caller);
                var pending = await inviter.ListInvitationsAsync(new ListInvitationsRequest { Resource = ProtoObject(((InviteOperation)managementCase.Operation).Resource) });
                foreach (var invitation in pending.Invitations)
                {
                    await inviter.RevokeInvitationAsync(new RevokeInvitationRequest { Id = invitation.Id });
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {ran} cases failed:\n" + string.Join("\n", failures));
        Assert.True(ran > 0 || validation.Management.Count == 0);
        Assert.True(foretoldCases > 0 || ran == 0, "no case was foretold by a management check");
    }

    /// <summary>
    /// The Check with a context (R25) that asks whether <paramref name="caller"/> may make <paramref name="operation"/>
    /// now, or null for an operation no management action names (SetRoles, CreateResource, AcceptInvitation). An
    /// invitation with several roles is allowed when each role is, asked in order as InviteMembers judges them.
    /// </summary>
    internal static async Task<Decision?> ManagementCheckAsync(AuthorizationService.AuthorizationServiceClient checks, Model.SubjectRef caller, ManagementOperation operation)
    {
        IReadOnlyList<(string Action, string Role, Model.SubjectRef? Target)> questions = operation switch
        {
            GrantOperation g => [("grant", g.Grant.Relation, g.Grant.Subject)],
            RevokeOperation r => [("revoke", r.Revoke.Relation, r.Revoke.Subject)],
            RemoveMemberOperation m => [("remove", "", m.Subject)],
            TransferOperation t => [("transfer", t.Transfer.Relation, t.Transfer.Subject)],
            InviteOperation i => [.. i.Relations.Distinct().Select(role => ("invite", role, (Model.SubjectRef?)null))],
            LeaveOperation => [("leave", "", null)],
            DeleteOperation => [("delete", "", null)],
            _ => [],
        };
        if (questions.Count == 0)
        {
            return null;
        }

        var resource = operation switch
        {
            GrantOperation g => g.Grant.Resource,
            RevokeOperation r => r.Revoke.Resource,
            RemoveMemberOperation m => m.Resource,
            TransferOperation t => t.Transfer.Resource,
            InviteOperation i => i.Resource,
            LeaveOperation l => l.Resource,
            DeleteOperation d => d.Resource,
            _ => throw new InvalidOperationException($"no resource for {operation}"),
        };
        foreach (var (action, role, target) in questions)
        {
            var request = new CheckRequest
            {
                Subject = ProtoSubject(caller),
                Action = action,
                Resource = ProtoObject(resource),
                Context = new CheckContext { TargetRole = role, TargetSubject = target is { } t ? ProtoSubject(t) : null },
                Consistency = new Consistency { FullyConsistent = true },
            };
            try
            {
                if ((await checks.CheckAsync(request)).Decision != Decision.Allowed)
                {
                    return Decision.Denied;
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                return Decision.Unspecified;
            }
        }

        return Decision.Allowed;
    }

    /// <summary>What a management check must have said for a call with <paramref name="outcome"/>: UNSPECIFIED stands for INVALID_ARGUMENT.</summary>
    internal static Decision Foretold(ManagementOutcome outcome) => outcome switch
    {
        ManagementOutcome.Ok => Decision.Allowed,
        ManagementOutcome.InvalidArgument => Decision.Unspecified,
        _ => Decision.Denied,
    };

    // The invitation an accept case's caller accepts, to its own address: made through InviteMembers by the case's
    // inviter (`by`), or else stored as an administrator's would be (an inviter's authority is what invite cases test).
    // Returns its token, or the inviter's refusal.
    private static async Task<(string? Token, (ManagementOutcome, ManagementChanges?, string)? Refusal)> InviteForAsync(
        IManagementCaseDeployment deployment, Model.SubjectRef caller, AcceptOperation accept)
    {
        if (accept.InvitedBy is { } by)
        {
            var inviter = new ManagementService.ManagementServiceClient(await deployment.WriterAsync(by, EmailOf(by)));
            try
            {
                var invited = await inviter.InviteMembersAsync(new InviteMembersRequest { Resource = ProtoObject(accept.Resource), Emails = { EmailOf(caller) }, Roles = { accept.Relations } });
                return (invited.Invitations[0].Token, null);
            }
            catch (RpcException e)
            {
                return (null, (OutcomeOf(e), null, $"inviting as {by}: {e.StatusCode}: {e.Status.Detail}"));
            }
        }

        var token = $"case-{Guid.NewGuid():N}";
        await deployment.Invitations.CreateAsync(
            [new NewInvitation($"inv_{Guid.NewGuid():N}"[..28], EmailOf(caller), accept.Resource, accept.Relations, Core.Management.InvitationToken.Hash(token), TimeSpan.FromDays(1))],
            "user:admin");
        return (token, null);
    }

    internal static async Task<(ManagementOutcome Outcome, ManagementChanges? Changes, string Detail)> CallAsync(
        ManagementService.ManagementServiceClient client, ManagementOperation operation, string? token = null)
    {
        try
        {
            var changes = operation switch
            {
                GrantOperation g => (await client.GrantRoleAsync(new GrantRoleRequest { Resource = ProtoObject(g.Grant.Resource), Role = g.Grant.Relation, Subject = ProtoSubject(g.Grant.Subject) })).Changes,
                RevokeOperation r => (await client.RevokeRoleAsync(new RevokeRoleRequest { Resource = ProtoObject(r.Revoke.Resource), Role = r.Revoke.Relation, Subject = ProtoSubject(r.Revoke.Subject) })).Changes,
                SetRolesOperation s => (await client.SetRolesAsync(new SetRolesRequest { Resource = ProtoObject(s.Resource), Subject = ProtoSubject(s.Subject), Roles = { s.Relations } })).Changes,
                RemoveMemberOperation m => (await client.RemoveMemberAsync(new RemoveMemberRequest { Resource = ProtoObject(m.Resource), Subject = ProtoSubject(m.Subject) })).Changes,
                RemoveMembersOperation m => (await client.RemoveMembersAsync(new RemoveMembersRequest { Resource = ProtoObject(m.Resource), Subjects = { m.Subjects.Select(ProtoSubject) } })).Changes,
                LeaveOperation l => (await client.LeaveAsync(new LeaveRequest { Resource = ProtoObject(l.Resource) })).Changes,
                TransferOperation t => (await client.TransferOwnershipAsync(new TransferOwnershipRequest { Resource = ProtoObject(t.Transfer.Resource), Role = t.Transfer.Relation, To = ProtoSubject(t.Transfer.Subject) })).Changes,
                InviteOperation i => await InviteAsync(client, i),
                AcceptOperation => (await client.AcceptInvitationAsync(new AcceptInvitationRequest { Token = token })).Changes,
                CreateOperation c => (await client.CreateResourceAsync(new CreateResourceRequest
                {
                    Resource = ProtoObject(c.Resource),
                    Parent = ProtoObject(c.Parent),
                    Attributes = { c.Attributes.Select(a => new V1.Attribute { Relation = a.Relation, Subject = ProtoSubject(a.Subject) }) },
                    Children =
                    {
                        c.Children.Select(child => new CreatedChild
                        {
                            Resource = ProtoObject(child.Resource),
                            Attributes = { child.Attributes.Select(a => new V1.Attribute { Relation = a.Relation, Subject = ProtoSubject(a.Subject) }) },
                        }),
                    },
                })).Changes,
                DeleteOperation d => (await client.DeleteResourceAsync(new DeleteResourceRequest { Resource = ProtoObject(d.Resource) })).Changes,
                _ => throw new InvalidOperationException($"no gRPC call for {operation}"),
            };
            return (ManagementOutcome.Ok, changes, string.Empty);
        }
        catch (RpcException e)
        {
            return (OutcomeOf(e), null, $"{e.StatusCode}: {e.Status.Detail}");
        }
    }

    private static ManagementOutcome OutcomeOf(RpcException e) => e.StatusCode switch
    {
        StatusCode.PermissionDenied => ManagementOutcome.PermissionDenied,
        StatusCode.FailedPrecondition => ManagementOutcome.FailedPrecondition,
        StatusCode.NotFound => ManagementOutcome.NotFound,
        StatusCode.InvalidArgument => ManagementOutcome.InvalidArgument,
        _ => (ManagementOutcome)(-1),
    };

    // Making an invitation changes no relationship: no changes to revert, and nothing to check but the outcome.
    private static async Task<ManagementChanges?> InviteAsync(ManagementService.ManagementServiceClient client, InviteOperation invite)
    {
        await client.InviteMembersAsync(new InviteMembersRequest { Resource = ProtoObject(invite.Resource), Emails = { "invitee@example.com" }, Roles = { invite.Relations } });
        return null;
    }

    // The verified address a case caller's key carries (user:nick_new → nick_new@user.example.com).
    private static string EmailOf(Model.SubjectRef subject) => $"{subject.Id}@{subject.Type}.example.com".ToLowerInvariant();

    internal static V1.ObjectRef ProtoObject(Model.ObjectRef value) => Requests.Object(value.ToString());

    internal static V1.SubjectRef ProtoSubject(Model.SubjectRef value) => Requests.Subject(value.ToString());
}
