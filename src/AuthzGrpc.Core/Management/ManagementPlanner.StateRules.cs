namespace AuthzGrpc.Core.Management;

// State rules: what a change may not break once the caller's authority has passed (match, unique, unique-when), judged
// against the state before the call plus what the call itself writes.
public sealed partial class ManagementPlanner
{
    // Each item (or created object) checks a unique relation against the state before the call, so two of them could
    // each give one subject the same unique relation on a different object; the call as a whole may not.
    private void RequireUniqueAcrossObjects(List<RelationshipUpdate> updates)
    {
        var unique = updates.Where(u => u.Operation == RelationshipOperation.Touch)
            .Select(u => u.Relationship)
            .Where(r => TypeOf(r.Resource) is var type && type.Rules.Unique.Contains(RelationOf(type, r.Relation)))
            .GroupBy(r => (r.Resource.Type, r.Relation, r.Subject))
            .FirstOrDefault(g => g.Select(r => r.Resource).Distinct().Count() > 1);
        if (unique is not null)
        {
            throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                $"unique {unique.Key.Relation}: {unique.Key.Subject} would be {unique.Key.Relation} of {string.Join(" and ", unique.Select(r => r.Resource).Distinct())}");
        }
    }

    // The state rules of adding relation@subject on the resource; pending: relationships the same call writes, which
    // match rules see (a new environment's type is of its new project).
    private void RequireGrantState(ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef subject, IReadOnlyList<Relationship>? pending = null)
    {
        RequireMutable(resource, type, relation);
        RequireMatch(resource, type, relation, subject, pending ?? []);
        RequireUniqueWhen(resource, type, relation, subject, pending ?? []);
        if (type.Rules.Unique.Contains(relation))
        {
            var elsewhere = engine.Read(new RelationshipFilter(resource.Type, null, relation.Name, Exactly(subject)))
                .FirstOrDefault(r => r.Resource != resource);
            if (elsewhere != default)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"unique {relation.Name}: {subject} is already {relation.Name} of {elsewhere.Resource}");
            }
        }
    }

    // A subject written to a relation with a match rule must belong where the rule says (a group of this project, a
    // type of this environment's project, this environment's own project).
    private void RequireMatch(ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef subject, IReadOnlyList<Relationship> pending)
    {
        if (!type.Rules.Match.TryGetValue(relation, out var match))
        {
            return;
        }

        var subjectObject = subject.Object;
        var fits = match.Mode switch
        {
            MatchMode.By => Values(subjectObject, match.Other, pending).Contains(resource),
            MatchMode.Within => Values(subjectObject, match.Other, pending).Intersect(Values(resource, match.Other, pending)).Any(),
            _ => Values(resource, match.Other, pending).Contains(subjectObject),
        };
        if (!fits)
        {
            var actual = match.Mode == MatchMode.As ? Values(resource, match.Other, pending) : Values(subjectObject, match.Other, pending);
            var owner = match.Mode == MatchMode.As ? resource : subjectObject;
            var has = actual.Count == 0 ? "has none" : "is " + string.Join(", ", actual);
            var mode = match.Mode.ToString().ToLowerInvariant();
            throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"match {relation.Name} {mode} {match.Other}: {relation.Name} of {resource} cannot be {subject}: the {match.Other} of {owner} {has}");
        }
    }

    // 'unique r when q': an object with q keeps its r subject to itself. Judged when r is written (a preview taking the
    // production type) and when q is (marking production an environment whose type another one shares).
    private void RequireUniqueWhen(ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef subject, IReadOnlyList<Relationship> pending)
    {
        foreach (var (shared, when) in type.Rules.UniqueWhen)
        {
            var values = relation == shared ? [subject] : relation == when ? Subjects(resource, shared.Name, pending) : [];
            foreach (var value in values)
            {
                var holders = engine.Read(new RelationshipFilter(resource.Type, null, shared.Name, Exactly(value))).Select(r => r.Resource)
                    .Concat(pending.Where(r => r.Resource.Type == resource.Type && r.Relation == shared.Name && r.Subject == value).Select(r => r.Resource))
                    .Append(resource)
                    .Distinct()
                    .ToList();
                var marked = holders.Where(h => (h == resource && relation == when) || Subjects(h, when.Name, pending).Count > 0).ToList();
                if (holders.Count > 1 && marked.Count > 0)
                {
                    throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                        $"unique {shared.Name} when {when.Name}: {value} is the {shared.Name} of {marked[0]}, which has {when.Name}; {string.Join(" and ", holders.Where(h => h != marked[0]))} cannot have it too");
                }
            }
        }
    }

    // The subjects a relation of an object holds, counting what the call writes.
    private List<SubjectRef> Subjects(ObjectRef resource, string relation, IReadOnlyList<Relationship> pending) =>
        [.. engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation))
            .Concat(pending.Where(r => r.Resource == resource && r.Relation == relation))
            .Select(r => r.Subject)
            .Distinct()];

    // The objects a relation of an object holds, counting what the call writes.
    private List<ObjectRef> Values(ObjectRef resource, string relation, IReadOnlyList<Relationship> pending) =>
        [.. engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation))
            .Concat(pending.Where(r => r.Resource == resource && r.Relation == relation))
            .Select(r => r.Subject.Object)
            .Distinct()];
}
