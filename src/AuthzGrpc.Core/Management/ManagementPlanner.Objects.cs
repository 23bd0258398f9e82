namespace AuthzGrpc.Core.Management;

// Objects: creating an object under its parent (with its attributes and the objects created inside it), who may update
// one, and deleting one with everything it contains.
public sealed partial class ManagementPlanner
{
    /// <summary>
    /// Creates <paramref name="resource"/> under <paramref name="parent"/> (the type's <c>create by relation-&gt;permission</c>
    /// rule: the caller needs the permission on the parent), with <paramref name="attributes"/> — further relationships
    /// of the new object, such as its creator or type — and the <paramref name="children"/> created inside it, all in
    /// one step. The new object's create rule authorises its children (their own rules would be judged on a parent that
    /// does not exist yet). Every <c>require one</c> rule of a created object must be met by exactly one created object.
    /// </summary>
    public ManagementPlan Create(
        SubjectRef caller, ObjectRef resource, ObjectRef parent, IReadOnlyList<(string Relation, SubjectRef Subject)> attributes,
        IReadOnlyList<ContainedObject>? children = null)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        children ??= [];
        var type = TypeOf(resource);

        // Malformed input, whoever asks: each child belongs to the new object, no object is named twice, and every
        // attribute is a relation of its object's type.
        var topAttributes = Resolve(type, attributes);
        var contained = new List<NewObject>();
        for (var i = 0; i < children.Count; i++)
        {
            var child = children[i];
            var childType = TypeOf(child.Resource);
            var under = new[] { childType.Rules.Parent, childType.Rules.Create?.Under }
                .FirstOrDefault(r => r is not null && r.Allows(type, null, wildcard: false))
                ?? throw AuthzException.Invalid($"children[{i}]: a {childType.Name} does not belong to a {type.Name}: neither its 'parent' nor its 'create by' relation allows {type.Name}");
            if (child.Resource == resource || contained.Any(o => o.Resource == child.Resource))
            {
                throw AuthzException.Invalid($"children[{i}]: {child.Resource} is created twice in one call");
            }

            contained.Add(new(child.Resource, childType, under, new SubjectRef(resource.Type, resource.Id), Resolve(childType, child.Attributes)));
        }

        if (type.Rules.Create is not { } rule)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"a {type.Name} cannot be created through the management API: the schema has no 'create by' rule for it");
        }

        if (!engine.Check(parent, rule.Permission, caller))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"creating a {type.Name} under {parent} needs {rule.Permission} there, which {caller} does not have");
        }

        List<NewObject> objects = [new(resource, type, rule.Under, new SubjectRef(parent.Type, parent.Id), topAttributes), .. contained];
        var written = objects.SelectMany(o => o.Attributes.Select(a => new Relationship(o.Resource, a.Relation.Name, a.Subject)).Prepend(new Relationship(o.Resource, o.Under.Name, o.Parent)))
            .Distinct()
            .ToList();
        var updates = written.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r)).ToList();

        // A subject a relation cannot hold is malformed input too.
        engine.Validate(updates);

        // Authority: attributes are facts about the new objects (a type, a creator), never roles handed out: a role is
        // granted once the object exists, under its grant rule, or creating an object would hand out roles no rule
        // allowed. A role may only link the new objects to each other (the production environment's type and mark),
        // which gives no existing subject anything. And an attribute naming someone of the caller's kind names the
        // caller: nobody records another as creator.
        var created = objects.Select(o => o.Resource).ToHashSet();
        foreach (var o in objects)
        {
            foreach (var (relation, subject) in o.Attributes)
            {
                if (o.Type.Rules.Roles.Contains(relation) && (subject.IsSubjectSet || !created.Contains(subject.Object)))
                {
                    throw new AuthzException(AuthzErrorKind.PermissionDenied,
                        $"{o.Type.Name}#{relation.Name} is a role: grant it with GrantRole once {o.Resource} exists (its grant rule decides who may); on creation it may only name an object created in the same call");
                }

                if (subject.Type == caller.Type && !subject.IsSubjectSet && subject != caller)
                {
                    throw new AuthzException(AuthzErrorKind.PermissionDenied, $"attribute {relation.Name}@{subject}: an attribute naming a {caller.Type} names the caller ({caller}), who creates {o.Resource}");
                }
            }
        }

        // State, judged on the state after the whole call: the new objects' relationships are visible to match rules.
        if (objects.FirstOrDefault(o => Exists(o.Resource)) is { } existing)
        {
            throw new AuthzException(AuthzErrorKind.AlreadyExists, $"{existing.Resource} already exists");
        }

        foreach (var o in objects)
        {
            if (o.Attributes.GroupBy(a => a.Relation).FirstOrDefault(g => o.Type.Rules.Single.Contains(g.Key) && g.Select(a => a.Subject).Distinct().Count() > 1) is { } several)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"single {several.Key.Name}: {o.Resource} would hold {string.Join(" and ", several.Select(a => a.Subject).Distinct())} as {several.Key.Name}");
            }

            foreach (var (relation, subject) in o.Attributes)
            {
                RequireGrantState(o.Resource, o.Type, relation, subject, written);
            }

            foreach (var bySubject in o.Attributes.GroupBy(a => a.Subject))
            {
                RequireExclusive(o.Resource, o.Type, bySubject.Key, [.. bySubject.Select(a => a.Relation).Distinct()], []);
            }
        }

        RequireUniqueAcrossObjects(updates);
        foreach (var o in objects)
        {
            RequireContent(o.Resource, o.Type, written);
        }

        return new ManagementPlan(updates, []);
    }

    /// <summary>
    /// Deletes <paramref name="resource"/> and everything it contains: every relationship stored on them and every one
    /// that names them as subject (group memberships, grants to the group). Members of a deleted group keep their
    /// other access.
    /// </summary>
    public ManagementPlan Delete(SubjectRef caller, ObjectRef resource)
    {
        RequireGoverningPermission(caller, resource, rules => rules.Delete, type => $"a {type} cannot be deleted through the management API: the schema has no 'delete by' rule for it", "deleting");

        if (!Exists(resource))
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"{resource} does not exist");
        }

        var deleted = _containment.Below(resource).Prepend(resource).ToHashSet();
        var removed = deleted.SelectMany(o => engine.Read(new RelationshipFilter(o.Type, o.Id)).Concat(NamingAsSubject(o))).Distinct().ToList();

        // The objects that go away need no minimum; those that stay keep theirs (a group may be some org's only owner).
        RequireMinimums([.. removed.Where(r => !deleted.Contains(r.Resource))]);

        // An object another one requires (a project's production environment) goes only with that object.
        foreach (var mark in removed.Where(r => deleted.Contains(r.Resource) && !r.Subject.IsSubjectSet && !deleted.Contains(r.Subject.Object)))
        {
            if (Schema.TryGetType(mark.Subject.Type, out var holderType) &&
                holderType.Rules.Require.FirstOrDefault(q => q.Mark.Owner.Name == mark.Resource.Type && q.Mark.Name == mark.Relation) is { } required)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"require one {required.Mark.Owner.Name}#{required.Mark.Name}: {mark.Resource} is the {required.Mark.Name} of {mark.Subject.Object}, which needs exactly one; it goes only with {mark.Subject.Object}");
            }
        }
        return new ManagementPlan([.. removed.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r))], removed);
    }

    // Each 'require one t#r' of a new object: exactly one object created with it is marked by r pointing at it.
    private static void RequireContent(ObjectRef resource, TypeDefinition type, IReadOnlyList<Relationship> written)
    {
        var self = new SubjectRef(resource.Type, resource.Id);
        foreach (var required in type.Rules.Require)
        {
            var marked = written.Where(r => r.Resource.Type == required.Mark.Owner.Name && r.Relation == required.Mark.Name && r.Subject == self)
                .Select(r => r.Resource)
                .Distinct()
                .ToList();
            if (marked.Count != 1)
            {
                var found = marked.Count == 0 ? "none" : string.Join(" and ", marked);
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"require one {required.Mark.Owner.Name}#{required.Mark.Name}: {resource} needs exactly one {required.Mark.Owner.Name} whose {required.Mark.Name} is {resource}, created with it (in children); the call has {found}");
            }
        }
    }

    // An object of a Create call, resolved: its type, the relation to its parent, and its attributes.
    private sealed record NewObject(ObjectRef Resource, TypeDefinition Type, RelationDefinition Under, SubjectRef Parent, List<(RelationDefinition Relation, SubjectRef Subject)> Attributes);

    private static List<(RelationDefinition Relation, SubjectRef Subject)> Resolve(TypeDefinition type, IReadOnlyList<(string Relation, SubjectRef Subject)> attributes) =>
        [.. attributes.Select(a => (RelationOf(type, a.Relation), a.Subject))];

    private bool Exists(ObjectRef resource) =>
        engine.Read(new RelationshipFilter(resource.Type, resource.Id)).Count > 0 || NamingAsSubject(resource).Any();

    private IEnumerable<Relationship> NamingAsSubject(ObjectRef resource) =>
        Schema.Types.SelectMany(t => engine.Read(new RelationshipFilter(t.Name, null, null, new SubjectFilter(resource.Type, resource.Id))));

    /// <summary>
    /// Who may update an object: whoever may create such objects where it is. The type's <c>create by
    /// relation-&gt;permission</c> rule (read as <see cref="Create"/> reads it) names the relation that
    /// points at the parent and the permission needed there; the caller needs it on every object the relation points
    /// to now (normally exactly one). PermissionDenied for a type without a create rule or a caller without the
    /// permission. Authority comes first (R24): the refusal does not name the parent, and an object with no parent (which
    /// CreateResource never made, or DeleteResource removed) is NotFound only for a caller who may create objects of the
    /// type somewhere — who would learn as much from CreateResource's ALREADY_EXISTS — and that same refusal for anyone else.
    /// </summary>
    public void RequireUpdateAuthority(SubjectRef caller, ObjectRef resource)
    {
        var type = TypeOf(resource);
        if (type.Rules.Create is not { } rule)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied,
                $"a {type.Name} cannot be updated through the management API: the schema has no 'create by' rule for it (updating needs the permission that rule names on the parent)");
        }

        var refused = new AuthzException(AuthzErrorKind.PermissionDenied,
            $"updating {resource} needs {rule.Permission} on its {rule.Under.Name} (the '{type.Name}' type's 'create by' rule), which {caller} does not have");
        var parents = engine.Read(new RelationshipFilter(resource.Type, resource.Id, rule.Under.Name)).Select(r => r.Subject.Object).Distinct().ToList();
        if (parents.Count == 0)
        {
            var createsSomewhere = rule.Under.AllowedSubjects.Select(s => s.Type)
                .Where(t => t.TryGetMember(rule.Permission, out _))
                .Distinct()
                .Any(t => engine.LookupResources(t.Name, rule.Permission, caller, limit: 1).Resources.Count > 0);
            throw createsSomewhere
                ? new AuthzException(AuthzErrorKind.NotFound, $"{resource} does not exist: it has no {rule.Under.Name} (objects are made with CreateResource)")
                : refused;
        }

        if (parents.Any(parent => !engine.Check(parent, rule.Permission, caller)))
        {
            throw refused;
        }
    }
}
