using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;

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

/// <summary>A management operation, as a validation file writes it.</summary>
public abstract record ManagementOperation
{
    /// <summary>Plans the operation for <paramref name="caller"/>; throws <see cref="AuthzException"/> when refused.</summary>
    public abstract ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller);
}

/// <summary><c>grant: resource#relation@subject</c>.</summary>
public sealed record GrantOperation(Relationship Grant) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.Grant(caller, Grant.Resource, Grant.Relation, Grant.Subject);
}

/// <summary><c>revoke: resource#relation@subject</c>.</summary>
public sealed record RevokeOperation(Relationship Revoke) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.Revoke(caller, Revoke.Resource, Revoke.Relation, Revoke.Subject);
}

/// <summary><c>setRoles: {resource, subject, relations}</c>.</summary>
public sealed record SetRolesOperation(ObjectRef Resource, SubjectRef Subject, IReadOnlyList<string> Relations) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.SetRoles(caller, Resource, Subject, [.. Relations]);
}

/// <summary><c>removeMember: {resource, subject}</c>.</summary>
public sealed record RemoveMemberOperation(ObjectRef Resource, SubjectRef Subject) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.RemoveMember(caller, Resource, Subject);
}

/// <summary><c>removeMembers: {resource, subjects: [...]}</c>: several subjects removed in one step, all or nothing.</summary>
public sealed record RemoveMembersOperation(ObjectRef Resource, IReadOnlyList<SubjectRef> Subjects) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.RemoveMembers(caller, Resource, Subjects);
}

/// <summary><c>leave: resource</c>.</summary>
public sealed record LeaveOperation(ObjectRef Resource) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) => planner.Leave(caller, Resource);
}

/// <summary><c>transfer: resource#relation@to</c>.</summary>
public sealed record TransferOperation(Relationship Transfer) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.Transfer(caller, Transfer.Resource, Transfer.Relation, Transfer.Subject);
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
/// <c>create: {resource, parent, attributes: [relation@subject, ...], children: [{resource, attributes}, ...]}</c>: the
/// caller creates an object under a parent, with the objects created inside it.
/// </summary>
public sealed record CreateOperation(ObjectRef Resource, ObjectRef Parent, IReadOnlyList<(string Relation, SubjectRef Subject)> Attributes) : ManagementOperation
{
    /// <summary>The objects created inside the new one in the same step.</summary>
    public IReadOnlyList<ContainedObject> Children { get; init; } = [];

    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.Create(caller, Resource, Parent, Attributes, Children);
}

/// <summary><c>delete: resource</c>: the caller deletes an object and everything it contains.</summary>
public sealed record DeleteOperation(ObjectRef Resource) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) => planner.Delete(caller, Resource);
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
