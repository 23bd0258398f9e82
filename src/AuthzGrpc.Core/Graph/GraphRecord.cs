namespace AuthzGrpc.Core.Graph;

/// <summary>
/// Names one record of the shared graph: an object (<c>document:readme</c>) or a type's wildcard (<c>user:*</c>).
/// A plain pair so a lookup by the strings a request carries allocates nothing.
/// </summary>
public readonly record struct RecordKey(int Type, string Id)
{
    /// <summary>Equality by type index and ordinal id.</summary>
    public bool Equals(RecordKey other) => Type == other.Type && string.Equals(Id, other.Id, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Type, Id.GetHashCode(StringComparison.Ordinal));
}

/// <summary>One subject stored on a relation, resolved against the schema.</summary>
/// <param name="Type">The subject's type.</param>
/// <param name="Id">The object id, or <c>*</c> for a wildcard.</param>
/// <param name="Member">For a subject set (<c>group:eng#member</c>), the member; null for an object or a wildcard.</param>
/// <param name="Key">The subject as written: <c>user:alice</c>, <c>group:eng#member</c>, <c>user:*</c>.</param>
/// <param name="ExpiresAt">When the relationship stops counting (UTC ticks), or null for never.</param>
public sealed record RecordSubject(TypeDefinition Type, string Id, MemberDefinition? Member, string Key, long? ExpiresAt = null)
{
    /// <summary>Whether this is <c>type:*</c>.</summary>
    public bool IsWildcard => Id == Model.Identifiers.Wildcard;
}

/// <summary>The subjects of one <c>object#relation</c>, split the way evaluation uses them.</summary>
public sealed class RecordRelation
{
    internal RecordRelation(
        RecordSubject[] subjects, HashSet<string> keys, RecordSubject[] indexedSets, RecordSubject[] computedSets, Dictionary<string, long>? expiring)
    {
        SubjectArray = subjects;
        Keys = keys;
        IndexedSets = indexedSets;
        ComputedSets = computedSets;
        Expiring = expiring;
    }

    /// <summary>Every subject, in the order stored.</summary>
    public IReadOnlyList<RecordSubject> Subjects => SubjectArray;

    // Arrays, not interfaces, on the evaluation path: a foreach over an interface allocates its enumerator.
    internal RecordSubject[] SubjectArray { get; }

    /// <summary>The <see cref="RecordSubject.Key"/> of every subject: a direct or wildcard match is one lookup.</summary>
    internal HashSet<string> Keys { get; }

    /// <summary>Subject sets whose membership is precomputed: a match is the checked subject's reach containing one.</summary>
    internal RecordSubject[] IndexedSets { get; }

    /// <summary>Subject sets naming a permission (or expiring, or of a relation not indexed): evaluated on their object.</summary>
    internal RecordSubject[] ComputedSets { get; }

    /// <summary>The expiry (UTC ticks) of each expiring subject by <see cref="RecordSubject.Key"/>; null when none expires.</summary>
    internal Dictionary<string, long>? Expiring { get; }

    /// <summary>Whether the subject <paramref name="key"/> still counts at <paramref name="now"/> (UTC ticks).</summary>
    internal bool Alive(string key, long now) => Expiring is null || !Expiring.TryGetValue(key, out var expiresAt) || expiresAt > now;
}

/// <summary>
/// Everything a check needs about one object, precomputed: its relation sets, its ancestors (every object reachable
/// through relations that arrows walk, so one fetch names every other record an arrow can reach), the subject sets
/// it is in transitively (the Leopard closure) and the same closure for each of its own subject sets. A wildcard
/// record (<c>user:*</c>) holds only its closure. Immutable once built; shared by every check that reads it.
/// </summary>
public sealed class GraphRecord(
    TypeDefinition type, string id, long revision, RecordRelation?[] relations, RecordKey[] ancestors,
    HashSet<string> reach, HashSet<string>?[] subjectSetReach, int weight)
{
    private static readonly HashSet<string> NoReach = [];
    private string[]? _subjectSetKeys;

    /// <summary>The object's type.</summary>
    public TypeDefinition Type { get; } = type;

    /// <summary>The object id, or <c>*</c> for a wildcard record.</summary>
    public string Id { get; } = id;

    /// <summary><c>type:id</c>: the object as a subject.</summary>
    public string Key { get; } = $"{type.Name}:{id}";

    /// <summary>The revision of the model the record was computed at (it holds every change up to it).</summary>
    public long Revision { get; } = revision;

    /// <summary>The records an arrow starting here can reach: fetched together, they bound a check's round trips.</summary>
    public IReadOnlyList<RecordKey> Ancestors => AncestorArray;

    /// <summary>A rough size (stored subjects plus closure entries), what the near cache's budget counts.</summary>
    public int Weight { get; } = weight;

    /// <summary>Whether the object has no relationship and belongs to no subject set.</summary>
    public bool IsEmpty => Weight == 0;

    internal RecordRelation?[] Relations { get; } = relations;

    internal RecordKey[] AncestorArray { get; } = ancestors;

    /// <summary>The membership-indexed subject sets the object (or, for a wildcard record, <c>type:*</c>) is in.</summary>
    internal HashSet<string> Reach { get; } = reach;

    internal HashSet<string>?[] SubjectSetReach { get; } = subjectSetReach;

    /// <summary>An object with nothing stored: what a missing record means once the graph is known to be complete.</summary>
    public static GraphRecord Empty(TypeDefinition type, string id, long revision)
    {
        ArgumentNullException.ThrowIfNull(type);
        return new(type, id, revision, new RecordRelation?[type.Members.Count], [], NoReach, new HashSet<string>?[type.Members.Count], 0);
    }

    internal HashSet<string> ReachOfSet(int member) => SubjectSetReach[member] ?? NoReach;

    /// <summary><c>type:id#member</c>, built once per record and member, on first use.</summary>
    internal string SubjectSetKey(int member)
    {
        var keys = Volatile.Read(ref _subjectSetKeys);
        if (keys is null)
        {
            keys = new string[Type.Members.Count];
            for (var i = 0; i < keys.Length; i++)
            {
                keys[i] = $"{Key}#{Type.Members[i].Name}";
            }

            Volatile.Write(ref _subjectSetKeys, keys);
        }

        return keys[member];
    }
}
