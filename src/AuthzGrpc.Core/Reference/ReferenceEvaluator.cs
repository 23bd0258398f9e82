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

    /// <summary>
    /// Creates an evaluator over <paramref name="relationships"/>; the list is read live, and a relationship expired by
    /// <paramref name="clock"/> (the system's by default) counts for nothing.
    /// </summary>
    public ReferenceEvaluator(SchemaDocument schema, List<Relationship> relationships, TimeProvider? clock = null) =>
        _model = new SchemaAsWritten(schema, relationships, clock);

    /// <summary>Whether <paramref name="subject"/> has <paramref name="name"/> (permission or relation) on <paramref name="resource"/>.</summary>
    public bool Check(ObjectRef resource, string name, SubjectRef subject) =>
        Evaluate(resource, name, subject, []);

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
                // Every object stored in the relation has the member (one whose type lacks it does not); none: no.
                var stored = _model.Stored(resource, all.Relation);
                return stored.Length > 0 && stored.All(s =>
                    _model.Member(s.Subject.Type, all.Target) is not null && Evaluate(s.Subject.Object, all.Target, subject, inProgress));
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
