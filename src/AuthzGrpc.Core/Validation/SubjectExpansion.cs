using AuthzGrpc.Core.Reference;

namespace AuthzGrpc.Core.Validation;

/// <summary>
/// A subject an expansion reaches, with the stored relations (<c>resource#relation</c>) it was found in; a wildcard
/// may carry the subjects an exclusion took out of it.
/// </summary>
public sealed record FoundSubject(SubjectRef Subject, IReadOnlySet<string> Relationships, IReadOnlySet<SubjectRef> Excluded)
{
    /// <summary>The subject as SpiceDB's validation files write it: <c>user:tom</c>, <c>group:eng#member</c>, <c>user:* - {user:bob}</c>.</summary>
    public string ToValidationString() =>
        Excluded.Count == 0 ? Subject.ToString() : $"{Subject} - {{{string.Join(", ", Excluded.Select(s => s.ToString()).Order(StringComparer.Ordinal))}}}";
}

/// <summary>
/// Every subject a permission or relation of an object reaches, and through which stored relations — what SpiceDB's
/// recursive Expand finds and its validation files' <c>validation</c> block lists. It reads the schema as written and a
/// plain list of relationships, like <see cref="Reference.ReferenceEvaluator"/>: offline tooling, obviously right
/// rather than fast. As in SpiceDB, a subject set stored in a relation is found itself and expanded too; a wildcard is
/// one subject, minus what an exclusion takes out of it; a cycle is an error.
/// </summary>
public sealed class SubjectExpansion
{
    private readonly SchemaAsWritten _model;

    /// <summary>Creates an expansion over <paramref name="relationships"/> as <paramref name="schema"/> reads them.</summary>
    public SubjectExpansion(SchemaDocument schema, IReadOnlyList<Relationship> relationships)
    {
        _model = new SchemaAsWritten(schema, relationships);
        _hasCaveats = schema.Caveats.Count > 0;
    }

    private readonly bool _hasCaveats;

    /// <summary>
    /// The subjects <paramref name="name"/> of <paramref name="resource"/> reaches. Throws <see cref="FormatException"/>
    /// when the type or member is not in the schema, or when the expansion meets itself (a cycle).
    /// </summary>
    public IReadOnlyList<FoundSubject> Expand(ObjectRef resource, string name)
    {
        if (_model.Member(resource.Type, name) is null)
        {
            throw new FormatException($"{resource}#{name}: '{name}' is not a relation or permission of '{resource.Type}'");
        }

        if (_hasCaveats)
        {
            // SpiceDB marks a subject reached only through a caveat '[...]'; this expansion does not tell them apart.
            throw new FormatException($"{resource}#{name}: expected subjects are not checked under a schema with caveats yet; assert the checks instead (assertTrue, assertFalse, assertCaveated)");
        }

        return [.. Expand(resource, name, []).Found.Select(e => new FoundSubject(e.Key, e.Value.Relationships, e.Value.Excluded))];
    }

    private FoundSet Expand(ObjectRef resource, string name, HashSet<(ObjectRef, string)> path)
    {
        if (_model.Member(resource.Type, name) is not { } member)
        {
            return new FoundSet();
        }

        if (!path.Add((resource, name)))
        {
            throw new FormatException($"the expansion of {resource}#{name} meets itself (a cycle); SpiceDB's expansion fails on it too");
        }

        try
        {
            return member is PermissionSyntax permission ? Expand(permission.Expression, resource, path) : ExpandRelation(resource, name, path);
        }
        finally
        {
            path.Remove((resource, name));
        }
    }

    // The subjects stored in the relation (subject sets among them), and what each subject set reaches.
    private FoundSet ExpandRelation(ObjectRef resource, string relation, HashSet<(ObjectRef, string)> path)
    {
        var found = new FoundSet();
        var source = $"{resource}#{relation}";
        foreach (var stored in _model.Stored(resource, relation))
        {
            found = found.Union(FoundSet.Of(stored.Subject, source));
            if (stored.Subject.IsSubjectSet)
            {
                found = found.Union(Expand(stored.Subject.Object, stored.Subject.Relation!, path));
            }
        }

        return found;
    }

    private FoundSet Expand(ExpressionSyntax expression, ObjectRef resource, HashSet<(ObjectRef, string)> path) => expression switch
    {
        NilSyntax => new FoundSet(),
        NameSyntax name => Expand(resource, name.Name, path),
        ArrowSyntax { All: true } all => ExpandEvery(resource, all, path),
        ArrowSyntax arrow => _model.Stored(resource, arrow.Relation).Aggregate(new FoundSet(), (found, stored) => found.Union(Expand(stored.Subject.Object, arrow.Target, path))),
        BinarySyntax { Operator: SetOperator.Union } union => Expand(union.Left, resource, path).Union(Expand(union.Right, resource, path)),
        BinarySyntax { Operator: SetOperator.Intersection } both => Expand(both.Left, resource, path).Intersect(Expand(both.Right, resource, path)),
        BinarySyntax exclusion => Expand(exclusion.Left, resource, path).Exclude(Expand(exclusion.Right, resource, path)),
        _ => throw new InvalidOperationException($"unknown expression {expression.GetType().Name}"),
    };

    // An intersection arrow: the subjects every object in the relation reaches through the member; none stored: none.
    private FoundSet ExpandEvery(ObjectRef resource, ArrowSyntax arrow, HashSet<(ObjectRef, string)> path)
    {
        var stored = _model.Stored(resource, arrow.Relation);
        return stored.Length == 0
            ? new FoundSet()
            : stored.Select(s => Expand(s.Subject.Object, arrow.Target, path)).Aggregate((found, next) => found.Intersect(next));
    }

    private sealed record Entry(SortedSet<string> Relationships, HashSet<SubjectRef> Excluded)
    {
        public static Entry Merge(Entry a, Entry b, HashSet<SubjectRef> excluded) =>
            new(new SortedSet<string>(a.Relationships.Concat(b.Relationships), StringComparer.Ordinal), excluded);

        public Entry Copy() => new(new SortedSet<string>(Relationships, StringComparer.Ordinal), [.. Excluded]);
    }

    /// <summary>Subjects with where they were found, under SpiceDB's set rules for wildcards.</summary>
    private sealed class FoundSet
    {
        public Dictionary<SubjectRef, Entry> Found { get; } = [];

        public static FoundSet Of(SubjectRef subject, string source)
        {
            var set = new FoundSet();
            set.Found[subject] = new Entry(new SortedSet<string>(StringComparer.Ordinal) { source }, []);
            return set;
        }

        // Both sides; a wildcard keeps only what both exclude, and nothing found concretely stays excluded.
        public FoundSet Union(FoundSet other)
        {
            var result = Copy();
            foreach (var (subject, entry) in other.Found)
            {
                result.Found[subject] = result.Found.TryGetValue(subject, out var mine)
                    ? Entry.Merge(mine, entry, [.. mine.Excluded.Intersect(entry.Excluded)])
                    : entry.Copy();
            }

            foreach (var (subject, entry) in result.Found.Where(f => f.Key.IsWildcard))
            {
                entry.Excluded.RemoveWhere(result.Found.ContainsKey);
            }

            return result;
        }

        // A subject found on both sides, or on one side and covered by the other's wildcard; wildcards on both sides stay,
        // excluding what either excludes.
        public FoundSet Intersect(FoundSet other)
        {
            var result = new FoundSet();
            foreach (var (first, second) in new[] { (this, other), (other, this) })
            {
                foreach (var (subject, entry) in first.Found)
                {
                    if (second.Found.TryGetValue(subject, out var match))
                    {
                        result.Found[subject] = Entry.Merge(entry, match, [.. entry.Excluded.Union(match.Excluded)]);
                    }
                    else if (!subject.IsWildcard && second.CoveringWildcard(subject) is { } wildcard && !result.Found.ContainsKey(subject))
                    {
                        result.Found[subject] = Entry.Merge(entry, wildcard, []);
                    }
                }
            }

            return result;
        }

        // What the other side does not reach: a wildcard loses the subjects the other side names, and a wildcard on both
        // sides leaves only what the other's wildcard excluded.
        public FoundSet Exclude(FoundSet other)
        {
            var result = new FoundSet();
            foreach (var (subject, entry) in Found.Where(f => !f.Key.IsWildcard))
            {
                if (!other.Found.ContainsKey(subject) && other.CoveringWildcard(subject) is null)
                {
                    result.Found[subject] = entry.Copy();
                }
            }

            foreach (var (wildcard, entry) in Found.Where(f => f.Key.IsWildcard))
            {
                if (other.Found.TryGetValue(wildcard, out var theirs))
                {
                    foreach (var subject in theirs.Excluded.Where(s => !entry.Excluded.Contains(s)))
                    {
                        result.Found.TryAdd(subject, new Entry(new SortedSet<string>(entry.Relationships, StringComparer.Ordinal), []));
                    }
                }
                else
                {
                    var excluded = entry.Copy();
                    excluded.Excluded.UnionWith(other.Found.Keys.Where(s => s.Type == wildcard.Type && !s.IsWildcard && !s.IsSubjectSet));
                    result.Found[wildcard] = excluded;
                }
            }

            return result;
        }

        private Entry? CoveringWildcard(SubjectRef subject) =>
            !subject.IsSubjectSet && Found.TryGetValue(new SubjectRef(subject.Type, Identifiers.Wildcard), out var wildcard) && !wildcard.Excluded.Contains(subject)
                ? wildcard
                : null;

        private FoundSet Copy()
        {
            var copy = new FoundSet();
            foreach (var (subject, entry) in Found)
            {
                copy.Found[subject] = entry.Copy();
            }

            return copy;
        }
    }
}
