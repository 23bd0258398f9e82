using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Engine;

public sealed partial class PermissionEngine
{
    /// <summary>Whether <paramref name="subject"/> has <paramref name="permission"/> (a permission or relation) on <paramref name="resource"/>.</summary>
    public bool Check(ObjectRef resource, string permission, SubjectRef subject, CancellationToken cancellationToken = default) =>
        Check(resource.Type, resource.Id, permission, subject.Type, subject.Id, subject.Relation, cancellationToken);

    /// <summary>
    /// The hot path: whether the subject has the permission (or relation) on the resource. Allocates nothing when it
    /// succeeds and stays shallow. Throws <see cref="AuthzException"/> for names the schema does not define, when the
    /// recursion depth runs out or a cycle leaves the answer undecided (DepthExceeded), and when evaluation takes more
    /// than <see cref="EvaluationBudget"/> steps (ResourceExhausted); <see cref="OperationCanceledException"/> once
    /// <paramref name="cancellationToken"/> is cancelled — never an answer of "allowed" on error.
    /// </summary>
    public bool Check(
        string resourceType, string resourceId, string permission, string subjectType, string subjectId, string? subjectRelation = null,
        CancellationToken cancellationToken = default)
    {
        // One version throughout: a write published meanwhile is not seen in part.
        var graph = _graph;
        var member = ResolveMember(graph, resourceType, permission);
        var subject = ResolveSubject(graph, subjectType, subjectId, subjectRelation, member.Owner, resourceId);
        var resource = graph.FindObject(member.Owner.Index, resourceId);
        var state = new EvaluationState<long>(EvaluationBudget, cancellationToken, ShutdownToken);
        return Outcomes.Decide(EvalMember(graph, resource, member, in subject, 0, null, ref state), _maxDepth);
    }

    /// <summary>Evaluates like <see cref="Check(ObjectRef, string, SubjectRef, CancellationToken)"/> and returns the steps taken; the root's result is the decision.</summary>
    public ExplainNode Explain(ObjectRef resource, string permission, SubjectRef subject, CancellationToken cancellationToken = default)
    {
        var graph = _graph;
        var member = ResolveMember(graph, resource.Type, permission);
        var context = ResolveSubject(graph, subject.Type, subject.Id, subject.Relation, member.Owner, resource.Id);
        var node = graph.FindObject(member.Owner.Index, resource.Id);
        var root = new ExplainNode($"{resource}#{permission}@{subject}");
        var state = new EvaluationState<long>(EvaluationBudget, cancellationToken, ShutdownToken);
        root.Done(Outcomes.Decide(EvalMember(graph, node, member, in context, 0, root, ref state), _maxDepth));
        return root;
    }

    private static MemberDefinition ResolveMember(RelationshipGraph graph, string resourceType, string permission)
    {
        if (!graph.Schema.TryGetType(resourceType, out var type))
        {
            ThrowUnknownType(resourceType);
        }

        if (!type.TryGetMember(permission, out var member))
        {
            ThrowUnknownMember(type, permission);
        }

        return member;
    }

    private static SubjectContext ResolveSubject(RelationshipGraph graph, SubjectRef subject) =>
        ResolveSubject(graph, subject.Type, subject.Id, subject.Relation, null, null);

    private static SubjectContext ResolveSubject(
        RelationshipGraph graph, string subjectType, string subjectId, string? subjectRelation, TypeDefinition? resourceType, string? resourceId)
    {
        if (!graph.Schema.TryGetType(subjectType, out var type))
        {
            ThrowUnknownType(subjectType);
        }

        if (subjectId == Identifiers.Wildcard)
        {
            ThrowWildcardSubject();
        }

        var objectNode = graph.FindObject(type.Index, subjectId);
        if (string.IsNullOrEmpty(subjectRelation))
        {
            var wildcard = graph.FindWildcard(type.Index);
            return new SubjectContext(objectNode, objectNode, -1, wildcard, graph.Membership.Reach(objectNode), graph.Membership.Reach(wildcard), false);
        }

        if (!type.TryGetMember(subjectRelation, out var member))
        {
            ThrowUnknownMember(type, subjectRelation);
        }

        var node = graph.FindSubjectSet(objectNode, member.Index);
        var sameUnknownObject = objectNode < 0 && resourceType == type && resourceId == subjectId;
        return new SubjectContext(node, objectNode, member.Index, -1, graph.Membership.Reach(node), graph.Membership.Reach(-1), sameUnknownObject);
    }

    // The memo key of (object, member): the object's node, or for an object never stored its type (all such objects
    // of a type evaluate alike within one check: they have no relationships).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long StepKey(int resource, MemberDefinition member) =>
        resource >= 0 ? ((long)resource << 20) | (uint)member.Index : -((((long)member.Owner.Index << 20) | (uint)member.Index) + 1);

    private Outcome EvalMember(
        RelationshipGraph graph, int resource, MemberDefinition member, in SubjectContext subject, int depth, ExplainNode? trace, ref EvaluationState<long> state)
    {
        // The calls this step nests: itself and its plan's operators.
        var nesting = member is PermissionDefinition permission ? 1 + permission.Plan.Height : 1;
        var step = trace?.Child(DescribeStep(graph, resource, member));
        if (depth > _maxDepth || state.Nesting + nesting > EvaluationState<long>.MaxNesting)
        {
            step?.Done(false, $"undecided: deeper than {_maxDepth} steps");
            return Outcome.Unknown;
        }

        if (subject.Member == member.Index && (resource >= 0 ? resource == subject.ObjectNode : subject.SameUnknownObject))
        {
            step?.Done(true, "the subject is this set");
            return Outcome.True;
        }

        var key = StepKey(resource, member);
        if (!state.TryEnter(key, out var known))
        {
            step?.Done(known == Outcome.True, known == Outcome.Unknown ? "undecided: a cycle back to a step under evaluation" : "evaluated earlier in this check");
            return known;
        }

        state.Nesting += nesting;
        var result = member is RelationDefinition relation
            ? EvalRelation(graph, resource, relation, in subject, depth, step, ref state)
            : EvalPlan(graph, Unsafe.As<PermissionDefinition>(member).Plan, resource, in subject, depth, step, ref state);
        state.Nesting -= nesting;
        state.Leave(key, result);
        Done(step, result);
        return result;
    }

    private Outcome EvalRelation(
        RelationshipGraph graph, int resource, RelationDefinition relation, in SubjectContext subject, int depth, ExplainNode? step, ref EvaluationState<long> state)
    {
        var set = graph.FindRelationSet(resource, relation.Index);
        if (set is null)
        {
            step?.Done(false, "no relationships");
            return Outcome.False;
        }

        if (subject.Node >= 0 && set.Subjects.Contains(subject.Node))
        {
            step?.Done(true, "direct");
            return Outcome.True;
        }

        if (subject.WildcardNode >= 0 && set.Subjects.Contains(subject.WildcardNode))
        {
            step?.Done(true, "wildcard");
            return Outcome.True;
        }

        if (set.IndexedSets is not null &&
            (NodeSet.Intersects(set.IndexedSets, subject.Reach) || NodeSet.Intersects(set.IndexedSets, subject.WildcardReach)))
        {
            step?.Done(true, "member of " + DescribeMatchedSet(graph, set.IndexedSets, in subject));
            return Outcome.True;
        }

        var result = Outcome.False;
        if (set.ComputedSets is not null)
        {
            foreach (var subjectSet in set.ComputedSets)
            {
                ref readonly var node = ref graph[subjectSet];
                var target = graph.Schema.Types[node.Type].Members[node.Member];
                var found = EvalMember(graph, node.Object, target, in subject, depth + 1, step, ref state);
                if (found == Outcome.True)
                {
                    return Outcome.True;
                }

                result = found == Outcome.Unknown ? Outcome.Unknown : result;
            }
        }

        return result;
    }

    // Union, arrows and subject sets: true as soon as one operand is true, whatever its position (a cycle or too deep a
    // chain in another operand does not hide it); unknown when none is true and one is unknown.
    private Outcome EvalPlan(
        RelationshipGraph graph, PlanNode plan, int resource, in SubjectContext subject, int depth, ExplainNode? trace, ref EvaluationState<long> state)
    {
        switch (plan.Kind)
        {
            case PlanKind.Member:
                return EvalMember(graph, resource, plan.Member!, in subject, depth, trace, ref state);
            case PlanKind.Arrow:
            {
                var step = trace?.Child(plan.ToString());
                var result = Outcome.False;
                var set = graph.FindRelationSet(resource, plan.ArrowRelation!.Index);
                if (set is not null)
                {
                    var targets = plan.ArrowTargetArray;
                    foreach (var walked in set.Subjects)
                    {
                        var target = graph[walked].Object;
                        var member = targets[graph[target].Type];
                        if (member is null)
                        {
                            continue;
                        }

                        var found = EvalMember(graph, target, member, in subject, depth + 1, step, ref state);
                        if (found == Outcome.True)
                        {
                            result = Outcome.True;
                            break;
                        }

                        result = found == Outcome.Unknown ? Outcome.Unknown : result;
                    }
                }

                return Done(step, result);
            }

            case PlanKind.Union:
            {
                var step = trace?.Child(plan.ToString());
                var result = Outcome.False;
                foreach (var child in plan.ChildArray)
                {
                    var found = EvalPlan(graph, child, resource, in subject, depth, step, ref state);
                    if (found == Outcome.True)
                    {
                        result = Outcome.True;
                        break;
                    }

                    result = found == Outcome.Unknown ? Outcome.Unknown : result;
                }

                return Done(step, result);
            }

            case PlanKind.Intersection:
            {
                var step = trace?.Child(plan.ToString());
                var result = Outcome.True;
                foreach (var child in plan.ChildArray)
                {
                    var found = EvalPlan(graph, child, resource, in subject, depth, step, ref state);
                    if (found == Outcome.False)
                    {
                        result = Outcome.False;
                        break;
                    }

                    result = found == Outcome.Unknown ? Outcome.Unknown : result;
                }

                return Done(step, result);
            }

            case PlanKind.Exclusion:
            {
                var step = trace?.Child(plan.ToString());
                var included = EvalPlan(graph, plan.ChildArray[0], resource, in subject, depth, step, ref state);
                var result = included == Outcome.False
                    ? Outcome.False
                    : Outcomes.Exclude(included, EvalPlan(graph, plan.ChildArray[1], resource, in subject, depth, step, ref state));
                return Done(step, result);
            }

            default:
                return Outcome.False;
        }
    }

    private static Outcome Done(ExplainNode? step, Outcome result)
    {
        step?.Done(result == Outcome.True, result == Outcome.Unknown ? "undecided: a cycle or too deep a chain below" : null);
        return result;
    }

    private static string DescribeStep(RelationshipGraph graph, int resource, MemberDefinition member) =>
        resource >= 0 ? $"{graph.DescribeObject(resource)}#{member.Name}" : $"{member.Owner.Name}:(no relationships)#{member.Name}";

    private static string DescribeMatchedSet(RelationshipGraph graph, NodeSet indexedSets, in SubjectContext subject)
    {
        foreach (var set in indexedSets)
        {
            if (subject.Reach.Contains(set) || subject.WildcardReach.Contains(set))
            {
                return graph.DescribeSubject(set).ToString();
            }
        }

        return "a subject set";
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowUnknownType(string type) =>
        throw AuthzException.Invalid($"type '{type}' is not defined in the schema");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowUnknownMember(TypeDefinition type, string name) =>
        throw AuthzException.Invalid($"'{name}' is not a relation or permission of '{type.Name}'");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowWildcardSubject() =>
        throw AuthzException.Invalid("a wildcard cannot be the subject of a check: name a concrete subject");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowDepthExceeded(int maxDepth) =>
        throw new AuthzException(
            AuthzErrorKind.DepthExceeded,
            $"evaluation went deeper than {maxDepth} steps or around a cycle without deciding: the relationships form a cycle or a chain too deep to evaluate");

    /// <summary>
    /// The subject of one evaluation, resolved once: its node (-1 if never stored), the subject-set member (-1 for an
    /// object), its type's wildcard node, and the precomputed sets it belongs to.
    /// </summary>
    private readonly struct SubjectContext(int node, int objectNode, int member, int wildcardNode, NodeSet reach, NodeSet wildcardReach, bool sameUnknownObject)
    {
        public readonly int Node = node;
        public readonly int ObjectNode = objectNode;
        public readonly int Member = member;
        public readonly int WildcardNode = wildcardNode;
        public readonly NodeSet Reach = reach;
        public readonly NodeSet WildcardReach = wildcardReach;

        // The resource was never stored and is the object of this subject set (a set always contains itself).
        public readonly bool SameUnknownObject = sameUnknownObject;
    }
}
