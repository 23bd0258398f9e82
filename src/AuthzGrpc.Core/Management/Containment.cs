namespace AuthzGrpc.Core.Management;

/// <summary>
/// The containment tree the schema declares with <c>parent</c> rules (application in environment in project in
/// organization). Management inherits and cascades along it only: arrows may also point sideways (a project to its
/// environment types and back), which checks follow but a cascade must not.
/// </summary>
internal sealed class Containment(PermissionEngine engine)
{
    /// <summary>The parents of <paramref name="resource"/>, nearest first.</summary>
    public IEnumerable<ObjectRef> Above(ObjectRef resource)
    {
        var seen = new HashSet<ObjectRef> { resource };
        var current = resource;
        while (engine.Schema.TryGetType(current.Type, out var type) && type.Rules.Parent is { } parent)
        {
            var up = engine.Read(new RelationshipFilter(current.Type, current.Id, parent.Name)).Select(r => r.Subject.Object).FirstOrDefault();
            if (up == default || !seen.Add(up))
            {
                yield break;
            }

            yield return up;
            current = up;
        }
    }

    /// <summary>Everything <paramref name="resource"/> contains, at any depth.</summary>
    public IEnumerable<ObjectRef> Below(ObjectRef resource)
    {
        var seen = new HashSet<ObjectRef> { resource };
        var pending = new Queue<ObjectRef>([resource]);
        while (pending.Count > 0)
        {
            foreach (var child in Children(pending.Dequeue()))
            {
                if (seen.Add(child))
                {
                    pending.Enqueue(child);
                    yield return child;
                }
            }
        }
    }

    /// <summary>The objects directly inside <paramref name="resource"/> (their <c>parent</c> relation names it).</summary>
    public IEnumerable<ObjectRef> Children(ObjectRef resource)
    {
        foreach (var type in engine.Schema.Types)
        {
            if (type.Rules.Parent is { } parent && parent.AllowedSubjects.Any(s => s.Type.Name == resource.Type))
            {
                foreach (var relationship in engine.Read(new RelationshipFilter(type.Name, null, parent.Name, new SubjectFilter(resource.Type, resource.Id))))
                {
                    yield return relationship.Resource;
                }
            }
        }
    }
}
