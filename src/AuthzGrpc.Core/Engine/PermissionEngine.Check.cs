using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using AuthzGrpc.Core.Caveats;

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
        var state = new EvaluationState<long>(EvaluationBudget, cancellationToken, ShutdownToken);
        return Evaluate(resourceType, resourceId, permission, subjectType, subjectId, subjectRelation, ref state) == Outcome.True;
    }

    /// <summary>
    /// As <see cref="Check(string, string, string, string, string, string?, CancellationToken)"/>, under a schema that
    /// may have caveats: with the check's own caveat <paramref name="context"/>, and answering
    /// <see cref="Permissionship.Conditional"/> (with the parameters to supply) where a caveat needs what neither the
    /// relationship's context nor this one gives — never allowed. A context whose values do not fit a caveat's
    /// parameters is InvalidArgument.
    /// </summary>
    public CheckDecision Decide(
        string resourceType, string resourceId, string permission, string subjectType, string subjectId, string? subjectRelation, CaveatContext? context,
        CancellationToken cancellationToken = default)
    {
        var state = new EvaluationState<long>(EvaluationBudget, cancellationToken, ShutdownToken) { Context = context };
        return ToDecision(Evaluate(resourceType, resourceId, permission, subjectType, subjectId, subjectRelation, ref state), ref state);
    }

    private static CheckDecision ToDecision(Outcome outcome, ref EvaluationState<long> state) => outcome switch
    {
        Outcome.True => CheckDecision.Allowed,
        Outcome.False => CheckDecision.Denied,
        _ => CheckDecision.Conditional([.. state.MissingParameters]),
    };

    // The root of a check: true, false or conditional; an error when undecided. One version of the graph throughout: a
    // write published meanwhile is not seen in part.
    private Outcome Evaluate(
        string resourceType, string resourceId, string permission, string subjectType, string subjectId, string? subjectRelation,
        ref EvaluationState<long> state)
    {
        var graph = _graph;
        var member = ResolveMember(graph, resourceType, permission);
        var subject = ResolveSubject(graph, subjectType, subjectId, subjectRelation, member.Owner, resourceId);
        graph.Schema.CheckCaveatContext(state.Context);
        var resource = graph.FindObject(member.Owner.Index, resourceId);
        return Outcomes.Settle(Evaluator(graph).Member(resource, member, in subject, 0, null, ref state), _maxDepth);
    }

    /// <summary>
    /// Evaluates like <see cref="Decide"/> and returns the steps taken; the root's result is the decision (false, with the
    /// missing parameters in its reason, when conditional).
    /// </summary>
    public ExplainNode Explain(ObjectRef resource, string permission, SubjectRef subject, CancellationToken cancellationToken = default) =>
        Explain(resource, permission, subject, null, out _, cancellationToken);

    /// <inheritdoc cref="Explain(ObjectRef, string, SubjectRef, CancellationToken)"/>
    public ExplainNode Explain(ObjectRef resource, string permission, SubjectRef subject, CaveatContext? caveatContext, CancellationToken cancellationToken = default) =>
        Explain(resource, permission, subject, caveatContext, out _, cancellationToken);

    /// <summary>As <see cref="Explain(ObjectRef, string, SubjectRef, CaveatContext?, CancellationToken)"/>, with the decision as <see cref="Decide"/> gives it.</summary>
    public ExplainNode Explain(
        ObjectRef resource, string permission, SubjectRef subject, CaveatContext? caveatContext, out CheckDecision decision, CancellationToken cancellationToken = default)
    {
        var graph = _graph;
        var member = ResolveMember(graph, resource.Type, permission);
        var context = ResolveSubject(graph, subject.Type, subject.Id, subject.Relation, member.Owner, resource.Id);
        graph.Schema.CheckCaveatContext(caveatContext);
        var node = graph.FindObject(member.Owner.Index, resource.Id);
        var root = new ExplainNode($"{resource}#{permission}@{subject}");
        var state = new EvaluationState<long>(EvaluationBudget, cancellationToken, ShutdownToken) { Context = caveatContext };
        var outcome = Outcomes.Settle(Evaluator(graph).Member(node, member, in context, 0, root, ref state), _maxDepth);
        root.Done(outcome == Outcome.True, outcome == Outcome.Conditional ? $"conditional: supply {string.Join(", ", state.MissingParameters)}" : null);
        decision = ToDecision(outcome, ref state);
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

        // As in SpiceDB, the type's wildcard matches a subject set on an object of the type as well as the object.
        var objectNode = graph.FindObject(type.Index, subjectId);
        var wildcard = graph.FindWildcard(type.Index);
        if (string.IsNullOrEmpty(subjectRelation))
        {
            return new SubjectContext(objectNode, objectNode, -1, wildcard, graph.Membership.Reach(objectNode), graph.Membership.Reach(wildcard), false);
        }

        if (!type.TryGetMember(subjectRelation, out var member))
        {
            ThrowUnknownMember(type, subjectRelation);
        }

        var node = graph.FindSubjectSet(objectNode, member.Index);
        var sameUnknownObject = objectNode < 0 && resourceType == type && resourceId == subjectId;
        return new SubjectContext(node, objectNode, member.Index, wildcard, graph.Membership.Reach(node), graph.Membership.Reach(wildcard), sameUnknownObject);
    }

    // The one plan evaluator, over one version of the graph, at this instant (the clock is read only when something may expire).
    private PlanEvaluator<GraphView, int, SubjectContext, long, StoredRelation, GraphTargets> Evaluator(RelationshipGraph graph) =>
        new(new GraphView(graph, Now(graph)), _maxDepth);

    private long Now(RelationshipGraph graph) => graph.Schema.UsesExpiration ? Clock.GetUtcNow().UtcTicks : 0;

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
}
