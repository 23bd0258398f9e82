using AuthzGrpc.Core;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.Server.Services;

// The operations the seeds describe as one step over several subjects: removing several members (003), inviting
// several addresses with roles of their own (002), and what an object is (003: an environment's type and production
// mark) in GetResource and ListResources.
internal sealed partial class ManagementGrpcService
{
    public override async Task<RemoveMembersResponse> RemoveMembers(RemoveMembersRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Removals(request));
        var resource = ProtoMapping.ToModel(request.Resource);
        List<Core.Model.SubjectRef> subjects = [.. request.Subjects.Select(ProtoMapping.ToModel)];
        var changes = await ManageAsync("RemoveMembers", context, resource, (planner, caller) => planner.RemoveMembers(caller, resource, subjects));
        return new RemoveMembersResponse { Changes = changes };
    }

    // InviteMembers with `invitees`: every address with its own roles (those of `emails` with the request's), judged
    // for every invitee before anything is stored, then stored in one transaction: all or nothing.
    private async Task<InviteMembersResponse> InviteWithRolesEachAsync(InviteMembersRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"), RequestValidation.InvitationHours(request.ExpiresInHours, "expires_in_hours"));
        var entries = new List<(string Field, string Email, List<string> Roles, List<InvitationGrant> Grants)>();
        if (request.Emails.Count > 0)
        {
            RequestValidation.Require(
                RequestValidation.Emails(request.Emails, "emails", out var emails),
                request.Roles.Count == 0 && request.Grants.Count == 0 ? RequestValidation.Violation("roles", "is required with emails: at least one role to grant them on acceptance, e.g. developer") : null,
                RequestValidation.Roles(request.Roles, "roles"),
                RequestValidation.InvitationGrants(request.Grants, "grants"));
            entries.AddRange(emails.Select(email => ("emails", email, request.Roles.Distinct(StringComparer.Ordinal).ToList(), Grants(request.Grants))));
        }
        else if (request.Roles.Count > 0 || request.Grants.Count > 0)
        {
            RequestValidation.Throw(RequestValidation.Violation(request.Roles.Count > 0 ? "roles" : "grants", "applies to `emails`, which is empty: give each invitee its own roles"));
        }

        for (var i = 0; i < request.Invitees.Count; i++)
        {
            var invitee = request.Invitees[i];
            RequestValidation.Require(RequestValidation.Invitee(invitee, $"invitees[{i}]", out var email));
            entries.Add(($"invitees[{i}]", email, invitee.Roles.Distinct(StringComparer.Ordinal).ToList(), Grants(invitee.Grants)));
        }

        RequestValidation.Require(RequestValidation.DistinctInvitees(entries.Select(e => (e.Field, e.Email)).ToList()));
        var resource = ProtoMapping.ToModel(request.Resource);
        var caller = context.GetCaller();
        var planner = new ManagementPlanner(holder.Current);

        // Every role of every invitee names a relation of its object's type (INVALID_ARGUMENT, whoever asks), before any
        // authority is judged; then the authority for every invitee (the first refused one refuses the call).
        foreach (var entry in entries)
        {
            RequireKnownRoles(holder.Current, entry.Field, ModelWriter.InvitationGrants(resource, entry.Roles, entry.Grants));
        }

        var invitations = new List<NewInvitation>();
        var tokens = new List<string>();
        var validFor = TimeSpan.FromHours(request.ExpiresInHours == 0 ? RequestValidation.DefaultInvitationHours : request.ExpiresInHours);
        foreach (var (field, email, roles, grants) in entries)
        {
            IReadOnlyList<AcceptCondition> conditions;
            try
            {
                conditions = planner.RequireGrantAuthority(caller.Subject, ModelWriter.InvitationGrants(resource, roles, grants));
            }
            catch (AuthzException e)
            {
                throw new AuthzException(e.Kind, $"{field} ({email}): {e.Message}; no invitation of the call was created");
            }

            var token = NewToken();
            tokens.Add(token);
            invitations.Add(new NewInvitation(NewInvitationId(), email, resource, roles, HashToken(token), validFor, grants, conditions));
        }

        var (revision, rows) = await store.CreateInvitationsAsync(invitations, caller.Subject.ToString(), context.CancellationToken);
        var response = new InviteMembersResponse { Revision = Text(revision) };
        response.Invitations.AddRange(rows.Select((row, i) => Issued(row, tokens[i])));
        return response;

        static List<InvitationGrant> Grants(IEnumerable<RoleChange> grants) =>
            [.. grants.Select(g => new InvitationGrant(ProtoMapping.ToModel(g.Resource), [.. g.Roles.Distinct(StringComparer.Ordinal)]))];
    }

    // Malformed input before authority: an unknown type, or a role that is not a relation of its object's type.
    private static void RequireKnownRoles(PermissionEngine engine, string field, IReadOnlyList<ObjectRoleChange> grants)
    {
        foreach (var grant in grants)
        {
            var type = engine.Schema.TryGetType(grant.Resource.Type, out var found)
                ? found
                : throw new AuthzException(AuthzErrorKind.InvalidArgument, $"{field}: type '{grant.Resource.Type}' is not defined in the schema");
            foreach (var role in grant.Roles)
            {
                if (!type.TryGetMember(role, out var member) || member is not Core.Schema.RelationDefinition)
                {
                    throw new AuthzException(AuthzErrorKind.InvalidArgument, $"{field}: '{role}' is not a relation of '{type.Name}'");
                }
            }
        }
    }

    // What the object is beside its parent and its members' roles (ResourceAttributes): a 003 environment's type and
    // production mark.
    private static ResourceInfo WithAttributes(PermissionEngine engine, ResourceInfo info)
    {
        var resource = ProtoMapping.ToModel(info.Resource);
        info.Attributes.AddRange(ResourceAttributes.Of(engine, resource).Select(r => new V1.Attribute { Relation = r.Relation, Subject = ProtoMapping.ToProto(r.Subject) }));
        return info;
    }
}
