namespace AuthzGrpc.Core.Management;

/// <summary>
/// A management operation: what a ManagementService call asks (the write pipeline plans it under the write lock against
/// the engine in force, then commits the plan), or what a validation file's case attempts (run against its own engine).
/// The operation only names the change; <see cref="ManagementPlanner"/> judges it, authority first, then state.
/// </summary>
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
        planner.Grant(caller, Grant.Resource, Grant.Relation, Grant.Subject, Grant.ExpiresAt);
}

/// <summary><c>revoke: resource#relation@subject</c>.</summary>
public sealed record RevokeOperation(Relationship Revoke) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.Revoke(caller, Revoke.Resource, Revoke.Relation, Revoke.Subject);
}

/// <summary><c>setRoles: {resource, subject, relations}</c>.</summary>
public sealed record SetRolesOperation(ObjectRef Resource, SubjectRef Subject, IReadOnlyList<string> Relations, DateTimeOffset? ExpiresAt = null) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.SetRoles(caller, Resource, Subject, [.. Relations], ExpiresAt);
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

/// <summary>ChangeRoles: a subject's roles on several objects changed as one step (<see cref="ManagementPlanner.ChangeRoles"/>).</summary>
public sealed record ChangeRolesOperation(SubjectRef Subject, IReadOnlyList<ObjectRoleChange> Changes) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller) =>
        planner.ChangeRoles(caller, Subject, Changes);
}

/// <summary>UpdateResource: an object's name and description, which change no relationship; only the authority is judged.</summary>
public sealed record UpdateOperation(ObjectRef Resource) : ManagementOperation
{
    /// <inheritdoc/>
    public override ManagementPlan Plan(ManagementPlanner planner, SubjectRef caller)
    {
        ArgumentNullException.ThrowIfNull(planner);
        planner.RequireUpdateAuthority(caller, Resource);
        return ManagementPlan.Empty;
    }
}
