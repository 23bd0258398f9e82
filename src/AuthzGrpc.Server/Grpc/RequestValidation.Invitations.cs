using AuthzGrpc.Core.Management;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Grpc;

// The shape of an InviteMembers request, read into the addresses to invite with their roles.
internal static partial class RequestValidation
{
    /// <summary>
    /// The addresses an InviteMembers request invites, each with its roles: <c>emails</c> with the request's roles, then
    /// each of <c>invitees</c> with its own. Without <c>invitees</c>, the request's roles are required for <c>emails</c>;
    /// with them, request roles without <c>emails</c> are refused (they would apply to no one) and every address must be
    /// named once across both lists.
    /// </summary>
    public static IReadOnlyList<InvitedAddress> Invitees(InviteMembersRequest request)
    {
        if (request.Invitees.Count == 0)
        {
            Require(
                Target(request.Resource, "resource"),
                Emails(request.Emails, "emails", out var only),
                request.Roles.Count == 0 && request.Grants.Count == 0 ? Violation("roles", "is required: at least one role to grant on acceptance, e.g. developer") : null,
                Roles(request.Roles, "roles"),
                InvitationHours(request.ExpiresInHours, "expires_in_hours"),
                InvitationGrants(request.Grants, "grants"));
            return [.. only.Select(email => RequestRoles(request, email))];
        }

        Require(Target(request.Resource, "resource"), InvitationHours(request.ExpiresInHours, "expires_in_hours"));
        var addresses = new List<InvitedAddress>();
        if (request.Emails.Count > 0)
        {
            Require(
                Emails(request.Emails, "emails", out var emails),
                request.Roles.Count == 0 && request.Grants.Count == 0 ? Violation("roles", "is required with emails: at least one role to grant them on acceptance, e.g. developer") : null,
                Roles(request.Roles, "roles"),
                InvitationGrants(request.Grants, "grants"));
            addresses.AddRange(emails.Select(email => RequestRoles(request, email)));
        }
        else if (request.Roles.Count > 0 || request.Grants.Count > 0)
        {
            Throw(Violation(request.Roles.Count > 0 ? "roles" : "grants", "applies to `emails`, which is empty: give each invitee its own roles"));
        }

        for (var i = 0; i < request.Invitees.Count; i++)
        {
            var invitee = request.Invitees[i];
            Require(Invitee(invitee, $"invitees[{i}]", out var email));
            addresses.Add(new InvitedAddress($"invitees[{i}]", email, [.. invitee.Roles.Distinct(StringComparer.Ordinal)], Grants(invitee.Grants)));
        }

        Require(DistinctInvitees([.. addresses.Select(a => (a.Field, a.Email))]));
        return addresses;
    }

    // One address of `emails`, with the request's roles.
    private static InvitedAddress RequestRoles(InviteMembersRequest request, string email) =>
        new("emails", email, [.. request.Roles.Distinct(StringComparer.Ordinal)], Grants(request.Grants));

    private static List<InvitationGrant> Grants(IEnumerable<RoleChange> grants) =>
        [.. grants.Select(g => new InvitationGrant(ProtoMapping.ToModel(g.Resource), [.. g.Roles.Distinct(StringComparer.Ordinal)]))];
}
