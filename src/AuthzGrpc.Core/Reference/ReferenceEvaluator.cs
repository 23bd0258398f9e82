using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Reference;

/// <summary>
/// Evaluates checks straight from the schema as written (the parsed definitions, not the compiled plans) over a
/// plain list of relationships: no interning, no precomputation, no indexes. It exists to be obviously right, so
/// that the engine can be compared with it; it is far too slow to serve.
/// </summary>
/// <remarks>A cycle is cut where it closes (least-fixpoint semantics): a subject is in a set only through a finite chain.</remarks>
public sealed class ReferenceEvaluator
{
    private readonly SchemaAsWritten _model;
    private readonly Dictionary<string, CompiledCaveat> _caveats;

    /// <summary>
    /// Creates an evaluator over <paramref name="relationships"/>; the list is read live, and a relationship expired by
    /// <paramref name="clock"/> (the system's by default) counts for nothing.
    /// </summary>
    public ReferenceEvaluator(SchemaDocument schema, List<Relationship> relationships, TimeProvider? clock = null)
    {
        _model = new SchemaAsWritten(schema, relationships, clock);
        _caveats = schema.Caveats.ToDictionary(
            c => c.Name,
            c => CompiledCaveat.Compile(c.Name, [.. c.Parameters.Select(p => new CaveatParameter(p.Name, CaveatType.Parse(p.Type)))], c.Expression),
            StringComparer.Ordinal);
    }

    /// <summary>
    /// Whether <paramref name="subject"/> has <paramref name="name"/> (permission or relation) on <paramref name="resource"/>,
    /// a caveated relationship counting only when its caveat holds on its own context.
    /// </summary>
    public bool Check(ObjectRef resource, string name, SubjectRef subject) =>
        Decide(resource, name, subject, null) == Permissionship.Allowed;

    /// <summary>The most caveats a <see cref="Decide"/> leaves open (it walks every combination of them).</summary>
    public const int MaxOpenCaveats = 12;

    /// <summary>
    /// The check under caveats, decided the plain way: each caveated relationship is there when its caveat holds on its
    /// context merged over <paramref name="context"/>, not when it fails, and open when a parameter is missing. With the
    /// open ones taken as there or not in every combination, the check is allowed when it holds in all, denied when in
    /// none, and conditional otherwise — the exact answer, where the engine's three-valued logic may say conditional
    /// for a check that no value of the missing parameters could change.
    /// </summary>
    public Permissionship Decide(ObjectRef resource, string name, SubjectRef subject, CaveatContext? context)
    {
        var holding = new HashSet<Relationship>();
        var open = new List<Relationship>();
        var reachable = Reachable(resource, name);
        foreach (var stored in reachable.Where(r => r.Caveat is not null))
        {
            var caveat = _caveats[stored.Caveat!.Name];
            var merged = context is null ? stored.Caveat.Context : CaveatContext.Merge(stored.Caveat.Context, context);
            switch (caveat.Evaluate(merged).Outcome)
            {
                case CaveatOutcome.True:
                    holding.Add(stored);
                    break;
                case CaveatOutcome.Missing:
                    open.Add(stored);
                    break;
            }
        }

        if (open.Count > MaxOpenCaveats)
        {
            throw new InvalidOperationException($"{open.Count} caveats are open; the reference walks at most {MaxOpenCaveats}");
        }

        bool any = false, all = true;
        for (var combination = 0; combination < 1 << open.Count; combination++)
        {
            var present = new HashSet<Relationship>(holding);
            present.UnionWith(open.Where((_, i) => (combination & (1 << i)) != 0));
            _model.CaveatHolds = present.Contains;
            var holds = Evaluate(resource, name, subject, []);
            any |= holds;
            all &= holds;
        }

        _model.CaveatHolds = null;
        return all ? Permissionship.Allowed : any ? Permissionship.Conditional : Permissionship.Denied;
    }

    // Every stored relationship an evaluation of name on resource could read, whatever the subject and the caveats: only
    // their caveats can change the answer, so only theirs are left open.
    private HashSet<Relationship> Reachable(ObjectRef resource, string name)
    {
        var found = new HashSet<Relationship>();
        var visited = new HashSet<(ObjectRef, string)>();
        var pending = new Stack<(ObjectRef Resource, string Name)>();
        pending.Push((resource, name));
        while (pending.TryPop(out var step))
        {
            if (!visited.Add(step))
            {
                continue;
            }

            switch (_model.Member(step.Resource.Type, step.Name))
            {
                case RelationSyntax:
                    foreach (var (stored, _) in _model.StoredWithCaveats(step.Resource, step.Name))
                    {
                        found.Add(stored);
                        if (stored.Subject.IsSubjectSet)
                        {
                            pending.Push((stored.Subject.Object, stored.Subject.Relation!));
                        }
                    }

                    break;
                case PermissionSyntax permission:
                    Walk(permission.Expression, step.Resource);
                    break;
            }
        }

        return found;

        void Walk(ExpressionSyntax expression, ObjectRef on)
        {
            switch (expression)
            {
                case NameSyntax named:
                    pending.Push((on, named.Name));
                    break;
                case ArrowSyntax arrow:
                    foreach (var (stored, _) in _model.StoredWithCaveats(on, arrow.Relation))
                    {
                        found.Add(stored);
                        if (_model.Member(stored.Subject.Type, arrow.Target) is not null)
                        {
                            pending.Push((stored.Subject.Object, arrow.Target));
                        }
                    }

                    break;
                case BinarySyntax binary:
                    Walk(binary.Left, on);
                    Walk(binary.Right, on);
                    break;
            }
        }
    }

    private bool Evaluate(ObjectRef resource, string name, SubjectRef subject, HashSet<(ObjectRef, string)> inProgress)
    {
        if (subject.IsSubjectSet && subject.Object == resource && subject.Relation == name)
        {
            return true;
        }

        if (!inProgress.Add((resource, name)))
        {
            return false;
        }

        try
        {
            return _model.Member(resource.Type, name) switch
            {
                RelationSyntax => EvaluateRelation(resource, name, subject, inProgress),
                PermissionSyntax permission => EvaluateExpression(permission.Expression, resource, subject, inProgress),
                _ => false,
            };
        }
        finally
        {
            inProgress.Remove((resource, name));
        }
    }

    private bool EvaluateRelation(ObjectRef resource, string relation, SubjectRef subject, HashSet<(ObjectRef, string)> inProgress)
    {
        foreach (var stored in _model.Stored(resource, relation))
        {
            var s = stored.Subject;
            if (s.Type == subject.Type && s.Id == subject.Id && (s.Relation ?? string.Empty) == (subject.Relation ?? string.Empty))
            {
                return true;
            }

            // As in SpiceDB, a wildcard matches a subject set on an object of its type too.
            if (s.IsWildcard && s.Type == subject.Type)
            {
                return true;
            }

            if (s.IsSubjectSet && Evaluate(s.Object, s.Relation!, subject, inProgress))
            {
                return true;
            }
        }

        return false;
    }

    private bool EvaluateExpression(ExpressionSyntax expression, ObjectRef resource, SubjectRef subject, HashSet<(ObjectRef, string)> inProgress)
    {
        switch (expression)
        {
            case NilSyntax:
                return false;
            case NameSyntax name:
                return Evaluate(resource, name.Name, subject, inProgress);
            case ArrowSyntax { All: true } all:
            {
                // Every object stored in the relation has the member (one whose type lacks it does not), and the
                // relationship's caveat holds (SpiceDB's reading: a failing one makes it false); none: no.
                var stored = _model.StoredWithCaveats(resource, all.Relation);
                return stored.Length > 0 && stored.All(s => s.Holds &&
                    _model.Member(s.Relationship.Subject.Type, all.Target) is not null && Evaluate(s.Relationship.Subject.Object, all.Target, subject, inProgress));
            }

            case ArrowSyntax arrow:
                return _model.Stored(resource, arrow.Relation).Any(s =>
                    _model.Member(s.Subject.Type, arrow.Target) is not null && Evaluate(s.Subject.Object, arrow.Target, subject, inProgress));
            case BinarySyntax { Operator: SetOperator.Union } union:
                return EvaluateExpression(union.Left, resource, subject, inProgress) || EvaluateExpression(union.Right, resource, subject, inProgress);
            case BinarySyntax { Operator: SetOperator.Intersection } intersection:
                return EvaluateExpression(intersection.Left, resource, subject, inProgress) && EvaluateExpression(intersection.Right, resource, subject, inProgress);
            case BinarySyntax exclusion:
                return EvaluateExpression(exclusion.Left, resource, subject, inProgress) && !EvaluateExpression(exclusion.Right, resource, subject, inProgress);
            default:
                throw new InvalidOperationException($"unknown expression {expression.GetType().Name}");
        }
    }
}
