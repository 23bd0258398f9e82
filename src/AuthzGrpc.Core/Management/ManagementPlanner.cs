namespace AuthzGrpc.Core.Management;

/// <summary>The relationship changes a management operation makes, and what it removed (for the reply and the audit log).</summary>
/// <param name="Updates">The changes, to be committed as one batch.</param>
/// <param name="Removed">The relationships the operation deletes, including those a cascade removes.</param>
public sealed record ManagementPlan(IReadOnlyList<RelationshipUpdate> Updates, IReadOnlyList<Relationship> Removed)
{
    /// <summary>Nothing to change.</summary>
    public static readonly ManagementPlan Empty = new([], []);
}

/// <summary>
/// Turns management operations (grant, revoke, set roles, remove member, leave, transfer, create, delete, invitations) into
/// relationship changes, enforcing the schema's management rules (<see cref="ManagementRules"/>). It reads the engine
/// and changes nothing: the caller commits the plan. Authority is checked before state (R24): a caller without the
/// authority gets <see cref="AuthzErrorKind.PermissionDenied"/> whatever the state; an authorised change that a rule
/// forbids gets <see cref="AuthzErrorKind.FailedPrecondition"/> naming the rule.
/// </summary>
/// <remarks>
/// Plans are only consistent if no write lands between planning and committing: the caller serializes them. One file per
/// operation family (Roles, Membership, Ownership, Objects, Invitations, Keys); the rules every family judges by are in
/// Authority (first) and StateRules (then).
/// </remarks>
public sealed partial class ManagementPlanner(PermissionEngine engine)
{
    private readonly Containment _containment = new(engine);

    private CompiledSchema Schema => engine.Schema;

    private bool Has(SubjectRef caller, ObjectRef resource, MemberDefinition permission) =>
        engine.Check(resource, permission.Name, caller);

    private bool Holds(ObjectRef resource, RelationDefinition relation, SubjectRef subject) =>
        engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation.Name, Exactly(subject))).Count > 0;

    // Whether granting resource#relation@subject until expiresAt (null: for good) would make a held, expiring
    // relationship count longer: a grant extends a time-boxed one, never shortens one.
    private bool ExtendsHeld(ObjectRef resource, RelationDefinition relation, SubjectRef subject, DateTimeOffset? expiresAt) =>
        engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation.Name, Exactly(subject))) is [{ ExpiresAt: { } current }, ..] &&
        (expiresAt is null || expiresAt > current);

    private static SubjectFilter Exactly(SubjectRef subject) => new(subject.Type, subject.Id, subject.Relation ?? string.Empty);

    private TypeDefinition TypeOf(ObjectRef resource) => Schema.RequireType(resource.Type);

    private static RelationDefinition RelationOf(TypeDefinition type, string name) =>
        type.TryGetMember(name, out var member) && member is RelationDefinition relation
            ? relation
            : throw AuthzException.Invalid($"'{name}' is not a relation of '{type.Name}'");
}
