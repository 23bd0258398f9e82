namespace AuthzGrpc.Core.Reference;

/// <summary>
/// A schema as written (its parsed definitions, not the compiled plans) over a plain list of relationships: what the
/// offline evaluators — the reference evaluator and SpiceDB-style expansion — walk, with no interning or index.
/// </summary>
internal sealed class SchemaAsWritten
{
    private readonly Dictionary<string, DefinitionSyntax> _definitions;
    private readonly IReadOnlyList<Relationship> _relationships;
    private readonly TimeProvider _clock;

    /// <summary>
    /// Reads <paramref name="relationships"/> live: a later change to the list is seen by the next walk, and a
    /// relationship expired by <paramref name="clock"/>'s now (the system's by default) is not there.
    /// </summary>
    public SchemaAsWritten(SchemaDocument schema, IReadOnlyList<Relationship> relationships, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        _definitions = schema.Definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);
        _relationships = relationships;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The relation or permission <paramref name="name"/> of <paramref name="type"/>; null when the schema has none.</summary>
    public MemberSyntax? Member(string type, string name) =>
        _definitions.TryGetValue(type, out var definition) ? definition.Members.FirstOrDefault(m => m.Name == name) : null;

    /// <summary>
    /// The relationships stored in <paramref name="resource"/>#<paramref name="relation"/> and not expired now, copied so a
    /// walk may outlive a change to the list.
    /// </summary>
    public Relationship[] Stored(ObjectRef resource, string relation)
    {
        var now = _clock.GetUtcNow();
        return [.. _relationships.Where(r => r.Resource == resource && r.Relation == relation && !r.IsExpiredAt(now) && (r.Caveat is null || CaveatHolds?.Invoke(r) != false))];
    }

    /// <summary>
    /// The relationships stored in <paramref name="resource"/>#<paramref name="relation"/> and not expired now, each with
    /// whether its caveat holds (true without one): what an intersection arrow walks, as SpiceDB walks every one.
    /// </summary>
    public (Relationship Relationship, bool Holds)[] StoredWithCaveats(ObjectRef resource, string relation)
    {
        var now = _clock.GetUtcNow();
        return [.. _relationships.Where(r => r.Resource == resource && r.Relation == relation && !r.IsExpiredAt(now))
            .Select(r => (r, r.Caveat is null || CaveatHolds?.Invoke(r) != false))];
    }

    /// <summary>Whether a caveated relationship is there, for a walk that decides caveats; null: every one is.</summary>
    public Func<Relationship, bool>? CaveatHolds { get; set; }
}
