namespace AuthzGrpc.Core.Management;

// Ownership: handing a relation over to another subject in one step, so that an object never lacks its owner.
public sealed partial class ManagementPlanner
{
    /// <summary>The caller hands its <paramref name="relation"/> on <paramref name="resource"/> over to <paramref name="to"/>, keeping none of it.</summary>
    public ManagementPlan Transfer(SubjectRef caller, ObjectRef resource, string relation, SubjectRef to)
    {
        var type = TypeOf(resource);
        var definition = RelationOf(type, relation);
        if (!type.Rules.Transfer.TryGetValue(definition, out var by))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{type.Name}#{relation} cannot be transferred: the schema has no 'transfer {relation}' rule");
        }

        if (!Has(caller, resource, by) || !Holds(resource, definition, caller))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"transferring {relation} of {resource} needs {by.Name} and holding {relation} directly, which {caller} does not");
        }

        if (to == caller)
        {
            throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"{caller} already holds {relation} on {resource}: transfer it to someone else");
        }

        var removed = new Relationship(resource, relation, caller);
        var updates = new List<RelationshipUpdate> { new(RelationshipOperation.Delete, removed) };
        if (!Holds(resource, definition, to))
        {
            // The recipient gets the relation as a grant would give it: the same state rules apply to it.
            RequireGrantState(resource, type, definition, to);
            RequireExclusive(resource, type, to, [definition], []);
            updates.Add(new(RelationshipOperation.Touch, new Relationship(resource, relation, to)));
        }

        updates.AddRange(BaseMemberships(resource, to).Except(updates.Select(u => u.Relationship)).Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r)));
        engine.Validate(updates);
        return new ManagementPlan(updates, [removed]);
    }
}
