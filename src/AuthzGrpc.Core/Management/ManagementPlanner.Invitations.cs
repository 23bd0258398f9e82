using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Management;

// The inviter's own authority over an object it invites to (the type's 'invite by' rule).
public sealed partial class ManagementPlanner
{
    // 'invite by p': inviting to an object of this type needs p on it, judged on the inviter when the invitation is made.
    // A grant rule with 'to' may allow a role for subjects already there, which an invitation can only judge at acceptance;
    // this rule is about the inviter, so it refuses the invitation at once (A003-4: a Manage-users holder who is not a
    // project admin cannot bring anyone into a project).
    private void RequireInviteRule(SubjectRef caller, ObjectRef resource, TypeDefinition type)
    {
        if (type.Rules.Invite is { } invite && !Has(caller, resource, invite))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied,
                $"inviting to {resource} needs {invite.Name} (the '{type.Name}' type's 'invite by' rule), which {caller} does not have");
        }
    }
}
