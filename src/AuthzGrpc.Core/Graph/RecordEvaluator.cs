using System.Diagnostics.CodeAnalysis;

namespace AuthzGrpc.Core.Graph;

/// <summary>The records a check can read: those loaded so far.</summary>
public interface IRecordView
{
    /// <summary>The record of <paramref name="key"/>, or null when it is not loaded (not: when it is empty).</summary>
    GraphRecord? Find(in RecordKey key);
}

/// <summary>The resolved names of one check: the permission (its owner is the resource type) and the subject's type and set member.</summary>
public readonly record struct CheckTarget(MemberDefinition Permission, TypeDefinition SubjectType, MemberDefinition? SubjectMember);

/// <summary>How a check over records ended.</summary>
public enum RecordCheckResult
{
    /// <summary>The subject has the permission.</summary>
    Allowed,

    /// <summary>The subject does not have it.</summary>
    Denied,

    /// <summary>A record it needs is not loaded; they are listed for the caller to fetch before evaluating again.</summary>
    Incomplete,
}

/// <summary>
/// Evaluates a compiled permission over graph records with the engine's own evaluator (<see cref="PlanEvaluator{TView, TObject, TSubject, TKey, TRelation, TTargets}"/>),
/// over a view of the relation sets of the resource, the precomputed closure of the subject, and the records of the
/// ancestors arrows walk. It
/// never fetches: a record it needs and does not find makes the answer <see cref="RecordCheckResult.Incomplete"/>,
/// with every missing key it met, so the caller fetches them together (one round trip) and evaluates again. The first
/// pass asks for the resource, the subject and the subject's wildcard; the second for every ancestor of the resource;
/// a cold check needs more only through subject sets that name a permission.
/// </summary>
public static class RecordEvaluator
{
    /// <summary>
    /// Whether the subject (<paramref name="subjectType"/>:<paramref name="subjectId"/>, or its set
    /// <paramref name="subjectMember"/> when given) has <paramref name="permission"/> on the resource
    /// <paramref name="resourceId"/> of the permission's type. Throws <see cref="AuthzException"/> — DepthExceeded when
    /// evaluation goes deeper than <paramref name="maxDepth"/> or around a cycle without deciding, ResourceExhausted past
    /// <paramref name="budget"/> steps — and <see cref="OperationCanceledException"/> once
    /// <paramref name="cancellationToken"/> is cancelled. Sub-results are shared within the evaluation, as the engine's are.
    /// Relationships whose expiry is at or before <paramref name="now"/> count for nothing.
    /// </summary>
    public static RecordCheckResult Check(
        IRecordView view, MemberDefinition permission, string resourceId, TypeDefinition subjectType, string subjectId,
        MemberDefinition? subjectMember, List<RecordKey> missing, DateTimeOffset now, int maxDepth = Engine.PermissionEngine.DefaultMaxDepth,
        long budget = Engine.PermissionEngine.DefaultEvaluationBudget, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(permission);
        ArgumentNullException.ThrowIfNull(subjectType);
        ArgumentNullException.ThrowIfNull(missing);
        var records = new Records(view, missing, now.UtcTicks);
        var resource = records.Find(new RecordKey(permission.Owner.Index, resourceId));
        var subjectRecord = records.Find(new RecordKey(subjectType.Index, subjectId));
        // The type's wildcard matches a subject set on an object of the type too, as in SpiceDB.
        var wildcard = records.Find(new RecordKey(subjectType.Index, Identifiers.Wildcard));
        if (resource is null || subjectRecord is null || wildcard is null)
        {
            return RecordCheckResult.Incomplete;
        }

        // Every record an arrow from here can reach, in one go rather than one hop per round trip.
        foreach (var ancestor in resource.AncestorArray)
        {
            records.Find(ancestor);
        }

        if (missing.Count > 0)
        {
            return RecordCheckResult.Incomplete;
        }

        var subject = subjectMember is null
            ? new Subject(subjectType, subjectId, -1, subjectRecord.Key, subjectRecord.Reach, wildcard.Key, wildcard.Reach)
            : new Subject(subjectType, subjectId, subjectMember.Index, subjectRecord.SubjectSetKey(subjectMember.Index), subjectRecord.ReachOfSet(subjectMember.Index), wildcard.Key, wildcard.Reach);
        var evaluator = new PlanEvaluator<Records, GraphRecord, Subject, (string, int), RecordRelation, RecordTargets>(records, maxDepth);
        var state = new EvaluationState<(string, int)>(budget, cancellationToken);
        var outcome = evaluator.Member(resource, permission, in subject, 0, null, ref state);

        // A record not loaded counted as false: the answer waits for it (and so does an undecided one, which a missing
        // record may decide).
        return missing.Count > 0 ? RecordCheckResult.Incomplete
            : Outcomes.Decide(outcome, maxDepth) ? RecordCheckResult.Allowed
            : RecordCheckResult.Denied;
    }

    /// <summary>
    /// Resolves the names of a check against <paramref name="schema"/>, with the engine's errors (InvalidArgument for a
    /// type or member the schema does not define, or a wildcard subject).
    /// </summary>
    public static CheckTarget Resolve(CompiledSchema schema, string resourceType, string permission, string subjectType, string subjectId, string? subjectRelation)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (!schema.TryGetType(resourceType, out var type))
        {
            Engine.PermissionEngine.ThrowUnknownType(resourceType);
        }

        if (!type.TryGetMember(permission, out var member))
        {
            Engine.PermissionEngine.ThrowUnknownMember(type, permission);
        }

        if (!schema.TryGetType(subjectType, out var subject))
        {
            Engine.PermissionEngine.ThrowUnknownType(subjectType);
        }

        if (subjectId == Identifiers.Wildcard)
        {
            Engine.PermissionEngine.ThrowWildcardSubject();
        }

        MemberDefinition? subjectMember = null;
        if (!string.IsNullOrEmpty(subjectRelation) && !subject.TryGetMember(subjectRelation, out subjectMember))
        {
            Engine.PermissionEngine.ThrowUnknownMember(subject, subjectRelation);
        }

        return new CheckTarget(member, subject, subjectMember);
    }

    private readonly struct Subject(
        TypeDefinition type, string id, int member, string key, HashSet<string> reach, string wildcardKey, HashSet<string> wildcardReach)
    {
        public readonly TypeDefinition Type = type;
        public readonly string Id = id;
        public readonly int Member = member;
        public readonly string Key = key;
        public readonly HashSet<string> Reach = reach;
        public readonly string WildcardKey = wildcardKey;
        public readonly HashSet<string> WildcardReach = wildcardReach;
    }

    /// <summary>
    /// The loaded records as the plan evaluator reads them. A record not loaded counts as false for now and is listed
    /// in <c>missing</c>; the caller evaluates again once it is fetched.
    /// </summary>
    private readonly struct Records(IRecordView view, List<RecordKey> missing, long now)
        : IRelationshipView<GraphRecord, Subject, (string, int), RecordRelation, RecordTargets>
    {
        public (string, int) StepKey(GraphRecord resource, MemberDefinition member) => (resource.Key, member.Index);

        public bool IsSubjectSet(GraphRecord resource, MemberDefinition member, in Subject subject) =>
            subject.Member == member.Index && resource.Type == subject.Type && string.Equals(resource.Id, subject.Id, StringComparison.Ordinal);

        public bool TryFindRelation(GraphRecord resource, int relation, [MaybeNullWhen(false)] out RecordRelation set)
        {
            set = resource.Relations[relation];
            return set is not null;
        }

        public RelationMatch Match(RecordRelation set, in Subject subject)
        {
            if (set.Keys.Contains(subject.Key) && set.Alive(subject.Key, now))
            {
                return RelationMatch.Direct;
            }

            if (set.Keys.Contains(subject.WildcardKey) && set.Alive(subject.WildcardKey, now))
            {
                return RelationMatch.Wildcard;
            }

            return FindIndexedMatch(set, in subject) is null ? RelationMatch.None : RelationMatch.Indexed;
        }

        // Records carry no caveats: the shared graph leaves checks under a schema with caveats to the engine.
        public bool TryCaveatedMatch(RecordRelation set, in Subject subject, out BoundCaveat? direct, out BoundCaveat? wildcard)
        {
            direct = wildcard = null;
            return false;
        }

        public bool TryComputedSets(RecordRelation set, out RecordTargets targets)
        {
            targets = new(this, set.ComputedSets, null, now);
            return set.ComputedSets.Length > 0;
        }

        public RecordTargets ArrowTargets(RecordRelation set, MemberDefinition?[] targets) => new(this, set.SubjectArray, targets, now);

        public string DescribeStep(GraphRecord resource, MemberDefinition member) => $"{resource.Key}#{member.Name}";

        public string DescribeIndexedMatch(RecordRelation set, in Subject subject) => FindIndexedMatch(set, in subject)?.Key ?? "a subject set";

        public GraphRecord? Find(RecordKey key)
        {
            var record = view.Find(key);
            if (record is null && !missing.Contains(key))
            {
                missing.Add(key);
            }

            return record;
        }

        private static RecordSubject? FindIndexedMatch(RecordRelation set, in Subject subject)
        {
            foreach (var indexed in set.IndexedSets)
            {
                if (subject.Reach.Contains(indexed.Key) || subject.WildcardReach.Contains(indexed.Key))
                {
                    return indexed;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// The steps from a record's relation set: for its computed subject sets, each set's record and member; for an
    /// arrow, each walked subject's record and the member the arrow names for its type. A subject whose type lacks the
    /// member, or whose record is not loaded (then listed as missing), comes with a null member. Subjects expired at
    /// <c>now</c> are not there.
    /// </summary>
    private struct RecordTargets(Records records, RecordSubject[] subjects, MemberDefinition?[]? arrowTargets, long now) : ITargetCursor<GraphRecord>
    {
        private int _next;

        public bool MoveNext([MaybeNull] out GraphRecord target, out MemberDefinition? member, out BoundCaveat? caveat)
        {
            caveat = null;
            RecordSubject subject;
            do
            {
                if (_next == subjects.Length)
                {
                    target = null;
                    member = null;
                    return false;
                }

                subject = subjects[_next++];
            }
            while (subject.ExpiresAt <= now);

            member = arrowTargets is null ? subject.Member : subject.IsWildcard ? null : arrowTargets[subject.Type.Index];
            target = member is null ? null : records.Find(new RecordKey(subject.Type.Index, subject.Id));
            member = target is null ? null : member;
            return true;
        }
    }
}
