namespace AuthzGrpc.Core.Management;

/// <summary>The management operations a check with a context asks about (R25), each one ManagementService call.</summary>
public enum ManagementAction
{
    /// <summary>GrantRole (or, without a target subject, the grant authority an invitation needs).</summary>
    Grant,

    /// <summary>RevokeRole.</summary>
    Revoke,

    /// <summary>RemoveMember.</summary>
    Remove,

    /// <summary>InviteMembers with one role.</summary>
    Invite,

    /// <summary>TransferOwnership.</summary>
    Transfer,

    /// <summary>Leave.</summary>
    Leave,

    /// <summary>DeleteResource.</summary>
    Delete,
}

/// <summary>Whether a management call would be accepted, and if not, why.</summary>
/// <param name="Allowed">True exactly when the call would be accepted.</param>
/// <param name="Refusal">The status the call would get when refused (PermissionDenied, FailedPrecondition, NotFound, AlreadyExists); null when allowed.</param>
/// <param name="Reason">The refusal's message (it names the rule), or why it is allowed.</param>
public sealed record ManagementVerdict(bool Allowed, AuthzErrorKind? Refusal, string Reason);

/// <summary>
/// Answers "would this management call by <c>caller</c> be accepted now?" without making it: it runs the same
/// <see cref="ManagementPlanner"/> method the call runs (the planner only reads the engine) and discards the plan, so
/// the answer cannot drift from the rules. Refusals of authority and state become a denial; malformed input
/// (<see cref="AuthzErrorKind.InvalidArgument"/>) and evaluation failures (<see cref="AuthzErrorKind.DepthExceeded"/>)
/// stay errors, as for the call — no error turns into an allow.
/// </summary>
public sealed class ManagementCheck(PermissionEngine engine)
{
    /// <summary>The action names a context check accepts, as <see cref="ManagementAction"/>s.</summary>
    public static bool TryParse(string name, out ManagementAction action)
    {
        (var known, action) = name switch
        {
            "grant" => (true, ManagementAction.Grant),
            "revoke" => (true, ManagementAction.Revoke),
            "remove" => (true, ManagementAction.Remove),
            "invite" => (true, ManagementAction.Invite),
            "transfer" => (true, ManagementAction.Transfer),
            "leave" => (true, ManagementAction.Leave),
            "delete" => (true, ManagementAction.Delete),
            _ => (false, default),
        };
        return known;
    }

    /// <summary>The names <see cref="TryParse"/> accepts, for messages.</summary>
    public const string ActionNames = "grant, revoke, remove, invite, transfer, leave or delete";

    /// <summary>
    /// Judges <paramref name="action"/> on <paramref name="resource"/> by <paramref name="caller"/>.
    /// <paramref name="role"/> and <paramref name="target"/> are what the call would carry; the caller has checked
    /// that the action's required ones are present (revoke and transfer need both, grant a role, invite a role and no
    /// target, remove a target only, leave and delete neither).
    /// </summary>
    public ManagementVerdict Judge(SubjectRef caller, ManagementAction action, ObjectRef resource, string? role, SubjectRef? target)
    {
        var planner = new ManagementPlanner(engine);
        try
        {
            switch (action)
            {
                case ManagementAction.Grant when target is { } grantee:
                    _ = planner.Grant(caller, resource, Required(role), grantee);
                    break;
                case ManagementAction.Grant or ManagementAction.Invite:
                    // InviteMembers' own judgment: the grant authority over a newcomer.
                    planner.RequireGrantAuthority(caller, resource, [Required(role)]);
                    break;
                case ManagementAction.Revoke:
                    _ = planner.Revoke(caller, resource, Required(role), Required(target));
                    break;
                case ManagementAction.Remove:
                    _ = planner.RemoveMember(caller, resource, Required(target));
                    break;
                case ManagementAction.Transfer:
                    _ = planner.Transfer(caller, resource, Required(role), Required(target));
                    break;
                case ManagementAction.Leave:
                    _ = planner.Leave(caller, resource);
                    break;
                case ManagementAction.Delete:
                    _ = planner.Delete(caller, resource);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(action), action, "not a management action");
            }
        }
        catch (AuthzException e) when (e.Kind is AuthzErrorKind.PermissionDenied or AuthzErrorKind.FailedPrecondition
                                           or AuthzErrorKind.NotFound or AuthzErrorKind.AlreadyExists)
        {
            return new ManagementVerdict(false, e.Kind, e.Message);
        }

        return new ManagementVerdict(true, null, "the management rules accept it");
    }

    // The server validates the fields each action needs; these only keep a missing one from being read as empty.
    private static string Required(string? role) =>
        string.IsNullOrEmpty(role) ? throw AuthzException.Invalid("the management action needs a target role") : role;

    private static SubjectRef Required(SubjectRef? target) =>
        target ?? throw AuthzException.Invalid("the management action needs a target subject");
}
