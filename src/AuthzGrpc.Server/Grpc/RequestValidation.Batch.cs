using AuthzGrpc.V1;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

// The shape checks of the calls that act on several subjects at once (RemoveMembers, InviteMembers' invitees).
internal static partial class RequestValidation
{
    /// <summary>A RemoveMembers request: an object and 1 to <see cref="MaxListItems"/> distinct subjects.</summary>
    public static FieldViolation? Removals(RemoveMembersRequest request)
    {
        if (Target(request.Resource, "resource") is { } resource)
        {
            return resource;
        }

        if (ListLength(request.Subjects.Count, "subjects", "at least one subject to remove, e.g. user:alice") is { } length)
        {
            return length;
        }

        var seen = new Dictionary<V1.SubjectRef, int>();
        for (var i = 0; i < request.Subjects.Count; i++)
        {
            if (Holder(request.Subjects[i], $"subjects[{i}]") is { } violation)
            {
                return violation;
            }

            if (!seen.TryAdd(request.Subjects[i], i))
            {
                return Violation($"subjects[{i}]", $"is already subjects[{seen[request.Subjects[i]]}]: name each subject once");
            }
        }

        return null;
    }

    /// <summary>
    /// One invitee of InviteMembers: one address (not a list), lowercased into <paramref name="email"/>, valid role
    /// names, grants as the request's are, and at least one role on the resource or in the grants.
    /// </summary>
    public static FieldViolation? Invitee(Invitee invitee, string field, out string email)
    {
        email = invitee.Email.Trim().ToLowerInvariant();
        if (email.Length == 0)
        {
            return Violation($"{field}.email", "is required: the invitee's address, e.g. name@example.com");
        }

        if (email.Length > MaxEmailLength)
        {
            return Violation($"{field}.email", $"has {email.Length} characters; the limit is {MaxEmailLength}");
        }

        if (!IsEmail(email))
        {
            return Violation($"{field}.email", $"'{Truncate(email)}' is not one email address like name@example.com (nothing was created)");
        }

        if (invitee.Roles.Count == 0 && invitee.Grants.Count == 0)
        {
            return Violation($"{field}.roles", "is required: at least one role to grant this invitee on acceptance");
        }

        return Roles(invitee.Roles, $"{field}.roles") ?? InvitationGrants(invitee.Grants, $"{field}.grants");
    }

    /// <summary>Every address of an InviteMembers call once (across <c>emails</c> and <c>invitees</c>), at most <see cref="MaxListItems"/> in all.</summary>
    public static FieldViolation? DistinctInvitees(IReadOnlyList<(string Field, string Email)> addresses)
    {
        if (addresses.Count > MaxListItems)
        {
            return Violation("invitees", $"the call has {addresses.Count} addresses; the limit is {MaxListItems}");
        }

        var first = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, email) in addresses)
        {
            if (!first.TryAdd(email, field))
            {
                return Violation(field, $"{email} is already invited by {first[email]} in this call: each address once, with its roles");
            }
        }

        return null;
    }
}
