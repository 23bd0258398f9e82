using AuthzGrpc.Core.Management;

namespace AuthzGrpc.Core.Validation;

/// <summary>The outcome a management case expects.</summary>
public enum ManagementOutcome
{
    /// <summary>The change is accepted.</summary>
    Ok,

    /// <summary>The caller lacks the authority.</summary>
    PermissionDenied,

    /// <summary>Authorised, but a rule forbids it in the current state.</summary>
    FailedPrecondition,

    /// <summary>What the change names does not exist.</summary>
    NotFound,

    /// <summary>The request is malformed for the schema.</summary>
    InvalidArgument,
}

/// <summary><c>invite: {resource, relations}</c>: whether the caller may invite with these roles (nothing changes until accepted).</summary>
public sealed record InviteOperation(ObjectRef Resource, IReadOnlyList<string> Relations) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller)
    {
        planner.RequireGrantAuthority(caller, Resource, Relations);
        return ManagementPlan.Empty;
    }
}

/// <summary>
/// <c>accept: {resource, relations, by?}</c>: the caller accepts an invitation carrying these roles. With <c>by</c>, the
/// invitation is the one that subject may make now (its authority, and the <c>to</c> conditions its rules leave for
/// the accepter); without, one an administrator made (no conditions).
/// </summary>
public sealed record AcceptOperation(ObjectRef Resource, IReadOnlyList<string> Relations, SubjectRef? InvitedBy = null) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller)
    {
        ArgumentNullException.ThrowIfNull(planner);
        List<ObjectRoleChange> grants = [new ObjectRoleChange(Resource, RoleChangeKind.Grant, [.. Relations])];
        var conditions = InvitedBy is { } inviter ? planner.RequireGrantAuthority(inviter, grants) : [];
        return planner.Accept(grants, conditions, caller);
    }
}

/// <summary>
/// One management case of a validation file: a caller attempts an operation on the file's relationships; the case
/// states the expected outcome and, when accepted, checks that must then hold.
/// </summary>
public sealed record ManagementCase(string Name, SubjectRef Caller, ManagementOperation Operation, ManagementOutcome Expected, IReadOnlyList<Assertion> Then)
{
    /// <summary>Runs the case on <paramref name="engine"/> (which it changes when the operation is accepted); returns what went wrong, or null.</summary>
    public string? Run(PermissionEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ManagementPlan plan;
        try
        {
            plan = Operation.Plan(new ManagementPlanner(engine), Caller);
        }
        catch (AuthzException e)
        {
            var actual = e.Kind switch
            {
                AuthzErrorKind.PermissionDenied => ManagementOutcome.PermissionDenied,
                AuthzErrorKind.FailedPrecondition => ManagementOutcome.FailedPrecondition,
                AuthzErrorKind.NotFound => ManagementOutcome.NotFound,
                AuthzErrorKind.InvalidArgument => ManagementOutcome.InvalidArgument,
                _ => (ManagementOutcome?)null,
            };
            return actual == Expected ? null : $"{this}: expected {Expected}, got {e.Kind}: {e.Message}";
        }

        if (Expected != ManagementOutcome.Ok)
        {
            return $"{this}: expected {Expected}, but it was accepted with {plan.Updates.Count} change(s)";
        }

        engine.Write(plan.Updates);
        var failed = Then.Where(a => engine.Check(a.Resource, a.Permission, a.Subject) != a.Expected).ToList();
        return failed.Count == 0 ? null : $"{this}: accepted, but then {string.Join("; ", failed)}";
    }

    /// <inheritdoc/>
    public override string ToString() => $"management case '{Name}' as {Caller}";
}
