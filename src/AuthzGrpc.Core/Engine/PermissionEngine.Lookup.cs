using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Engine;

/// <summary>The answer of <see cref="PermissionEngine.LookupSubjects"/>.</summary>
/// <param name="Subjects">
/// The subjects that have the permission, ordered by id; <c>type:*</c> (which sorts before every id) when a wildcard
/// grants it to everyone.
/// </param>
/// <param name="ExcludedFromWildcard">When <c>type:*</c> is listed: the stored subjects it does not include; otherwise empty.</param>
public sealed record SubjectLookup(IReadOnlyList<SubjectRef> Subjects, IReadOnlyList<SubjectRef> ExcludedFromWildcard)
{
    /// <summary>
    /// The subjects among <see cref="Subjects"/> that hold the permission only under caveats the lookup's context does not
    /// decide, each with the parameters to supply; empty unless the lookup asked for conditional answers.
    /// </summary>
    public IReadOnlyDictionary<SubjectRef, IReadOnlyList<string>> Conditional { get; init; } = new Dictionary<SubjectRef, IReadOnlyList<string>>();
}

/// <summary>The answer of <see cref="PermissionEngine.LookupResources"/>.</summary>
/// <param name="Resources">The resources on which the subject has the permission, ordered by id.</param>
public sealed record ResourceLookup(IReadOnlyList<ObjectRef> Resources)
{
    /// <summary>
    /// The resources among <see cref="Resources"/> on which the subject holds the permission only under caveats the
    /// lookup's context does not decide, each with the parameters to supply; empty unless the lookup asked for
    /// conditional answers.
    /// </summary>
    public IReadOnlyDictionary<ObjectRef, IReadOnlyList<string>> Conditional { get; init; } = new Dictionary<ObjectRef, IReadOnlyList<string>>();
}

public sealed partial class PermissionEngine
{
    /// <summary>
    /// Every object of <paramref name="resourceType"/> on which <paramref name="subject"/> has <paramref name="permission"/>,
    /// ordered by id (ordinal). Candidates come from the precomputed indexes — the objects where the subject (or a set it
    /// is in) is stored, and their descendants — so the cost follows the subject's reach, not the number of objects.
    /// <para>
    /// A page: only ids strictly after <paramref name="afterId"/> (null: from the first), and at most
    /// <paramref name="limit"/> of them (0: all). Candidates are put in id order before any is evaluated, so a page
    /// evaluates the candidates up to its last result and no further.
    /// </para>
    /// <para>
    /// Each candidate is evaluated within <see cref="EvaluationBudget"/>; sub-results are shared across the candidates
    /// (the subject is the same; not under a schema with caveats, where each candidate's missing parameters are its
    /// own). <paramref name="cancellationToken"/> stops the lookup between and within candidates.
    /// </para>
    /// <para>
    /// Caveats are evaluated with <paramref name="caveatContext"/>. A resource on which the permission is conditional
    /// is listed (and counted against the limit) only with <paramref name="includeConditional"/>, and then named in
    /// <see cref="ResourceLookup.Conditional"/>, as SpiceDB lists it with CONDITIONAL_PERMISSION.
    /// </para>
    /// </summary>
    public ResourceLookup LookupResources(
        string resourceType, string permission, SubjectRef subject, string? afterId = null, int limit = 0, CaveatContext? caveatContext = null,
        bool includeConditional = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var graph = _graph;
        var member = ResolveMember(graph, resourceType, permission);
        var context = ResolveSubject(graph, subject);
        graph.Schema.CheckCaveatContext(caveatContext);
        var candidates = new HashSet<int>();
        var pending = new Stack<int>();

        // Every node the subject counts as: itself, its wildcard, and each indexed set it is in.
        pending.Push(context.Node);
        pending.Push(context.WildcardNode);
        foreach (var set in context.Reach)
        {
            pending.Push(set);
        }

        foreach (var set in context.WildcardReach)
        {
            pending.Push(set);
        }

        if (context.ObjectNode >= 0 && context.Member >= 0)
        {
            AddCandidate(graph, context.ObjectNode, candidates, pending);
        }

        var seen = new HashSet<int>();
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (node < 0 || !seen.Add(node))
            {
                continue;
            }

            foreach (var set in graph.AppearsIn(node))
            {
                AddCandidate(graph, graph[set].Object, candidates, pending);
            }
        }

        var results = new List<ObjectRef>();
        var conditional = new Dictionary<ObjectRef, IReadOnlyList<string>>();
        var evaluator = Evaluator(graph);
        var state = new EvaluationState<long>(EvaluationBudget, cancellationToken, ShutdownToken) { Context = caveatContext };
        foreach (var candidate in InIdOrderAfter(graph, candidates, member.Owner.Index, afterId))
        {
            cancellationToken.ThrowIfCancellationRequested();
            ShutdownToken.ThrowIfCancellationRequested();
            state.NextRoot(sameSubject: !graph.Schema.UsesCaveats);
            var outcome = Outcomes.Settle(evaluator.Member(candidate, member, in context, 0, null, ref state), _maxDepth);
            if (outcome == Outcome.True || (outcome == Outcome.Conditional && includeConditional))
            {
                var resource = graph.DescribeObject(candidate);
                results.Add(resource);
                if (outcome == Outcome.Conditional)
                {
                    conditional[resource] = [.. state.MissingParameters];
                }

                if (results.Count == limit)
                {
                    break;
                }
            }
        }

        return new ResourceLookup(results) { Conditional = conditional };
    }

    /// <summary>
    /// Every subject of <paramref name="subjectType"/> that has <paramref name="permission"/> on <paramref name="resource"/>,
    /// ordered by id (ordinal). When a wildcard grants it to every object of the type, <c>type:*</c> is listed too (first:
    /// <c>*</c> sorts before every id), and <see cref="SubjectLookup.ExcludedFromWildcard"/> names the stored subjects it
    /// does not reach (an exclusion).
    /// <para>
    /// A page: only ids strictly after <paramref name="afterId"/> (null: from the first; <c>*</c>: after the wildcard),
    /// and at most <paramref name="limit"/> of them (0: all). A page that lists <c>type:*</c> evaluates every candidate,
    /// to name the excluded ones; any other page evaluates the candidates up to its last result and no further.
    /// </para>
    /// <para>
    /// Each candidate is evaluated within <see cref="EvaluationBudget"/>; <paramref name="cancellationToken"/> stops the
    /// lookup between and within candidates.
    /// </para>
    /// <para>
    /// With <paramref name="subjectRelation"/> (SpiceDB's optional subject relation), the subjects are the subject sets
    /// <c>type:id#relation</c> for which Check allows the permission, evaluated as Check evaluates a subject set; there
    /// is no wildcard then.
    /// </para>
    /// <para>
    /// Caveats are evaluated with <paramref name="caveatContext"/>. A subject that holds the permission conditionally is
    /// listed only with <paramref name="includeConditional"/>, and then named in <see cref="SubjectLookup.Conditional"/>;
    /// so is <c>type:*</c> when every object of the type holds it conditionally (its exclusions are then the stored
    /// subjects that do not hold it at all).
    /// </para>
    /// </summary>
    public SubjectLookup LookupSubjects(
        ObjectRef resource, string permission, string subjectType, string? afterId = null, int limit = 0, string? subjectRelation = null,
        CaveatContext? caveatContext = null, bool includeConditional = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var graph = _graph;
        var member = ResolveMember(graph, resource.Type, permission);
        if (!graph.Schema.TryGetType(subjectType, out var wanted))
        {
            ThrowUnknownType(subjectType);
        }

        graph.Schema.CheckCaveatContext(caveatContext);

        var relation = -1;
        if (subjectRelation is not null)
        {
            relation = wanted.TryGetMember(subjectRelation, out var set)
                ? set.Index
                : throw AuthzException.Invalid($"subject relation '{subjectRelation}' is not a relation or permission of '{wanted.Name}'");
        }

        var root = graph.FindObject(member.Owner.Index, resource.Id);
        var (candidates, wildcardSeen) = CollectSubjectCandidates(graph, root, wanted.Index, subjectSets: relation >= 0);
        var wildcardNode = graph.FindWildcard(wanted.Index);
        var wildcardReach = graph.Membership.Reach(wildcardNode);

        // "Anyone": a subject of the type stored nowhere on the way, which only wildcards can reach. `*` sorts
        // before every id, so the wildcard belongs to the page that starts from the first.
        var anyone = new SubjectContext(-1, -1, -1, wildcardNode, wildcardReach, wildcardReach, false);
        var evaluator = Evaluator(graph);
        var state = new EvaluationState<long>(EvaluationBudget, cancellationToken, ShutdownToken) { Context = caveatContext };
        var anyoneHas = afterId is null && wildcardSeen ? Outcomes.Settle(evaluator.Member(root, member, in anyone, 0, null, ref state), _maxDepth) : Outcome.False;
        var everyone = anyoneHas == Outcome.True || (anyoneHas == Outcome.Conditional && includeConditional);
        var allowed = new List<SubjectRef>();
        var excluded = new List<SubjectRef>();
        var conditional = new Dictionary<SubjectRef, IReadOnlyList<string>>();
        if (everyone)
        {
            var wildcard = new SubjectRef(wanted.Name, Identifiers.Wildcard);
            allowed.Add(wildcard);
            if (anyoneHas == Outcome.Conditional)
            {
                conditional[wildcard] = [.. state.MissingParameters];
            }
        }

        foreach (var candidate in InIdOrderAfter(graph, candidates, wanted.Index, afterId))
        {
            var context = relation < 0
                ? new SubjectContext(candidate, candidate, -1, wildcardNode, graph.Membership.Reach(candidate), wildcardReach, false)
                : SubjectSetContext(graph, candidate, relation);
            cancellationToken.ThrowIfCancellationRequested();
            ShutdownToken.ThrowIfCancellationRequested();
            state.NextRoot(sameSubject: false);
            var outcome = Outcomes.Settle(evaluator.Member(root, member, in context, 0, null, ref state), _maxDepth);
            if (outcome == Outcome.False || (outcome == Outcome.Conditional && !includeConditional))
            {
                if (everyone)
                {
                    excluded.Add(graph.DescribeSubject(candidate));
                }
            }
            else if (limit == 0 || allowed.Count < limit)
            {
                var subject = relation < 0 ? graph.DescribeSubject(candidate) : new SubjectRef(wanted.Name, graph[candidate].Id, subjectRelation);
                allowed.Add(subject);
                if (outcome == Outcome.Conditional)
                {
                    conditional[subject] = [.. state.MissingParameters];
                }
            }
            else if (!everyone)
            {
                // The page is full; only the wildcard's exclusions needed the remaining candidates.
                break;
            }
        }

        return new SubjectLookup(allowed, excluded) { Conditional = conditional };
    }

    // The candidates of one type with an id strictly after `afterId`, in id order: a page walks them from the front and
    // stops at its limit, so the candidates after the page are never evaluated.
    private static List<int> InIdOrderAfter(RelationshipGraph graph, HashSet<int> candidates, int type, string? afterId)
    {
        var ordered = new List<int>(candidates.Count);
        foreach (var candidate in candidates)
        {
            if (graph[candidate].Type == type && (afterId is null || string.CompareOrdinal(graph[candidate].Id, afterId) > 0))
            {
                ordered.Add(candidate);
            }
        }

        ordered.Sort((a, b) => string.CompareOrdinal(graph[a].Id, graph[b].Id));
        return ordered;
    }

    // The subject set object#relation as Check's ResolveSubject sees it: its node when stored (else -1), and its
    // object and relation, which a computed set of that object matches even when the set is stored nowhere. Unlike
    // Check, no wildcard: SpiceDB's LookupSubjects lists no subject set through a wildcard either (a wildcard would make
    // every subject set of the type an answer, most of them on objects stored nowhere).
    private static SubjectContext SubjectSetContext(RelationshipGraph graph, int objectNode, int relation)
    {
        var node = graph.FindSubjectSet(objectNode, relation);
        return new SubjectContext(node, objectNode, relation, -1, graph.Membership.Reach(node), graph.Membership.Reach(-1), false);
    }

    // Walks the resource, its ancestors and the objects of the subject sets stored on them, collecting every
    // stored subject of the wanted type (and the members of indexed sets): a superset of the answer. For subject sets
    // (`subjectSets`), every object of the wanted type the walk visits is a candidate too: a set reaches the resource
    // only through a relation stored on an object visited (or through its own object, visited as an ancestor or a set's
    // object); wildcards are not subject sets.
    private static (HashSet<int> Candidates, bool WildcardSeen) CollectSubjectCandidates(RelationshipGraph graph, int root, int wantedType, bool subjectSets)
    {
        var candidates = new HashSet<int>();
        var wildcardSeen = false;
        var objects = new Stack<int>();
        var visited = new HashSet<int>();
        objects.Push(root);
        while (objects.Count > 0)
        {
            var current = objects.Pop();
            if (current < 0 || !visited.Add(current))
            {
                continue;
            }

            if (subjectSets && graph[current].Type == wantedType)
            {
                candidates.Add(current);
            }

            foreach (var ancestor in graph.Ancestors.Reach(current))
            {
                objects.Push(ancestor);
            }

            foreach (var set in graph.RelationsOf(current) ?? [])
            {
                if (set is null)
                {
                    continue;
                }

                foreach (var subject in set.Subjects)
                {
                    wildcardSeen |= CollectSubject(graph, subject, wantedType, candidates, objects);
                    foreach (var member in graph.Membership.ReachedBy(subject))
                    {
                        wildcardSeen |= CollectSubject(graph, member, wantedType, candidates, objects);
                    }
                }
            }
        }

        return (candidates, wildcardSeen && !subjectSets);
    }

    private static void AddCandidate(RelationshipGraph graph, int objectNode, HashSet<int> candidates, Stack<int> pending)
    {
        if (!candidates.Add(objectNode))
        {
            return;
        }

        // A permission granted on an object reaches everything below it.
        foreach (var descendant in graph.Ancestors.ReachedBy(objectNode))
        {
            AddCandidate(graph, descendant, candidates, pending);
        }

        // The subject may be in a computed set of this object (object#permission) that is stored elsewhere.
        var type = graph.Schema.Types[graph[objectNode].Type];
        for (var member = 0; member < type.Members.Count; member++)
        {
            if (graph.FindSubjectSet(objectNode, member) >= 0 && type.Members[member] is not RelationDefinition { IsMembershipIndexed: true })
            {
                pending.Push(graph.FindSubjectSet(objectNode, member));
            }
        }
    }

    // Returns true when the node is the wildcard of the wanted type; queues the objects of computed sets,
    // whose members are found by walking their relations in turn.
    private static bool CollectSubject(RelationshipGraph graph, int subject, int wantedType, HashSet<int> candidates, Stack<int> objects)
    {
        ref readonly var node = ref graph[subject];
        switch (node.Kind)
        {
            case NodeKind.Wildcard:
                return node.Type == wantedType;
            case NodeKind.Object when node.Type == wantedType:
                candidates.Add(subject);
                return false;
            case NodeKind.SubjectSet:
                objects.Push(node.Object);
                return false;
            default:
                return false;
        }
    }
}
