using System.Runtime.CompilerServices;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

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
/// Evaluates a compiled permission over graph records, with the same semantics as the engine's check: the relation
/// sets of the resource, the precomputed closure of the subject, and the records of the ancestors arrows walk. It
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
    /// </summary>
    public static RecordCheckResult Check(
        IRecordView view, MemberDefinition permission, string resourceId, TypeDefinition subjectType, string subjectId,
        MemberDefinition? subjectMember, List<RecordKey> missing, int maxDepth = Engine.PermissionEngine.DefaultMaxDepth,
        long budget = Engine.PermissionEngine.DefaultEvaluationBudget, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(permission);
        ArgumentNullException.ThrowIfNull(subjectType);
        ArgumentNullException.ThrowIfNull(missing);
        var resource = view.Find(new RecordKey(permission.Owner.Index, resourceId));
        var subjectRecord = view.Find(new RecordKey(subjectType.Index, subjectId));
        var wildcard = subjectMember is null ? view.Find(new RecordKey(subjectType.Index, Identifiers.Wildcard)) : null;
        if (resource is null || subjectRecord is null || (subjectMember is null && wildcard is null))
        {
            AddIfMissing(view, missing, new RecordKey(permission.Owner.Index, resourceId));
            AddIfMissing(view, missing, new RecordKey(subjectType.Index, subjectId));
            if (subjectMember is null)
            {
                AddIfMissing(view, missing, new RecordKey(subjectType.Index, Identifiers.Wildcard));
            }

            return RecordCheckResult.Incomplete;
        }

        // Every record an arrow from here can reach, in one go rather than one hop per round trip.
        foreach (var ancestor in resource.AncestorArray)
        {
            AddIfMissing(view, missing, ancestor);
        }

        if (missing.Count > 0)
        {
            return RecordCheckResult.Incomplete;
        }

        var subject = subjectMember is null
            ? new Subject(subjectType, subjectId, -1, subjectRecord.Key, subjectRecord.Reach, wildcard!.Key, wildcard.Reach)
            : new Subject(subjectType, subjectId, subjectMember.Index, subjectRecord.SubjectSetKey(subjectMember.Index), subjectRecord.ReachOfSet(subjectMember.Index), null, null);
        var evaluation = new Evaluation(view, missing, maxDepth);
        var state = new EvaluationState<(string, int)>(budget, cancellationToken);
        var outcome = evaluation.Member(resource, permission, in subject, 0, ref state);

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

    private static void AddIfMissing(IRecordView view, List<RecordKey> missing, RecordKey key)
    {
        if (view.Find(key) is null && !missing.Contains(key))
        {
            missing.Add(key);
        }
    }

    private readonly struct Subject(
        TypeDefinition type, string id, int member, string key, HashSet<string> reach, string? wildcardKey, HashSet<string>? wildcardReach)
    {
        public readonly TypeDefinition Type = type;
        public readonly string Id = id;
        public readonly int Member = member;
        public readonly string Key = key;
        public readonly HashSet<string> Reach = reach;
        public readonly string? WildcardKey = wildcardKey;
        public readonly HashSet<string>? WildcardReach = wildcardReach;
    }

    private readonly struct Evaluation(IRecordView view, List<RecordKey> missing, int maxDepth)
    {
        public Outcome Member(GraphRecord resource, MemberDefinition member, in Subject subject, int depth, ref EvaluationState<(string, int)> state)
        {
            // The calls this step nests: itself and its plan's operators.
            var nesting = member is PermissionDefinition permission ? 1 + permission.Plan.Height : 1;
            if (depth > maxDepth || state.Nesting + nesting > EvaluationState<(string, int)>.MaxNesting)
            {
                return Outcome.Unknown;
            }

            // A subject set always contains itself.
            if (subject.Member == member.Index && resource.Type == subject.Type && string.Equals(resource.Id, subject.Id, StringComparison.Ordinal))
            {
                return Outcome.True;
            }

            var key = (resource.Key, member.Index);
            if (!state.TryEnter(key, out var known))
            {
                return known;
            }

            state.Nesting += nesting;
            var result = member is RelationDefinition relation
                ? Relation(resource, relation, in subject, depth, ref state)
                : Plan(Unsafe.As<PermissionDefinition>(member).Plan, resource, in subject, depth, ref state);
            state.Nesting -= nesting;
            state.Leave(key, result);
            return result;
        }

        private Outcome Relation(GraphRecord resource, RelationDefinition relation, in Subject subject, int depth, ref EvaluationState<(string, int)> state)
        {
            var set = resource.Relations[relation.Index];
            if (set is null)
            {
                return Outcome.False;
            }

            if (set.Keys.Contains(subject.Key) || (subject.WildcardKey is not null && set.Keys.Contains(subject.WildcardKey)))
            {
                return Outcome.True;
            }

            foreach (var indexed in set.IndexedSets)
            {
                if (subject.Reach.Contains(indexed.Key) || (subject.WildcardReach?.Contains(indexed.Key) ?? false))
                {
                    return Outcome.True;
                }
            }

            var result = Outcome.False;
            foreach (var computed in set.ComputedSets)
            {
                if (Find(new RecordKey(computed.Type.Index, computed.Id)) is { } target)
                {
                    var found = Member(target, computed.Member!, in subject, depth + 1, ref state);
                    if (found == Outcome.True)
                    {
                        return Outcome.True;
                    }

                    result = found == Outcome.Unknown ? Outcome.Unknown : result;
                }
            }

            return result;
        }

        // The engine's three-valued operators: a union is true when any operand is, whatever its position.
        private Outcome Plan(PlanNode plan, GraphRecord resource, in Subject subject, int depth, ref EvaluationState<(string, int)> state)
        {
            switch (plan.Kind)
            {
                case PlanKind.Member:
                    return Member(resource, plan.Member!, in subject, depth, ref state);
                case PlanKind.Arrow:
                {
                    var set = resource.Relations[plan.ArrowRelation!.Index];
                    if (set is null)
                    {
                        return Outcome.False;
                    }

                    var result = Outcome.False;
                    var targets = plan.ArrowTargetArray;
                    foreach (var walked in set.SubjectArray)
                    {
                        var member = walked.IsWildcard ? null : targets[walked.Type.Index];
                        if (member is not null && Find(new RecordKey(walked.Type.Index, walked.Id)) is { } target)
                        {
                            var found = Member(target, member, in subject, depth + 1, ref state);
                            if (found == Outcome.True)
                            {
                                return Outcome.True;
                            }

                            result = found == Outcome.Unknown ? Outcome.Unknown : result;
                        }
                    }

                    return result;
                }

                case PlanKind.Union:
                {
                    var result = Outcome.False;
                    foreach (var child in plan.ChildArray)
                    {
                        var found = Plan(child, resource, in subject, depth, ref state);
                        if (found == Outcome.True)
                        {
                            return Outcome.True;
                        }

                        result = found == Outcome.Unknown ? Outcome.Unknown : result;
                    }

                    return result;
                }

                case PlanKind.Intersection:
                {
                    var result = Outcome.True;
                    foreach (var child in plan.ChildArray)
                    {
                        var found = Plan(child, resource, in subject, depth, ref state);
                        if (found == Outcome.False)
                        {
                            return Outcome.False;
                        }

                        result = found == Outcome.Unknown ? Outcome.Unknown : result;
                    }

                    return result;
                }

                case PlanKind.Exclusion:
                {
                    var included = Plan(plan.ChildArray[0], resource, in subject, depth, ref state);
                    return included == Outcome.False
                        ? Outcome.False
                        : Outcomes.Exclude(included, Plan(plan.ChildArray[1], resource, in subject, depth, ref state));
                }

                default:
                    return Outcome.False;
            }
        }

        // A record not loaded counts as false for now and is listed; the caller evaluates again once it is fetched.
        private GraphRecord? Find(RecordKey key)
        {
            var record = view.Find(key);
            if (record is null && !missing.Contains(key))
            {
                missing.Add(key);
            }

            return record;
        }
    }
}
