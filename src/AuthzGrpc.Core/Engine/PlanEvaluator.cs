using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>How a relation set holds the subject without evaluating anything further.</summary>
internal enum RelationMatch : byte
{
    None,
    Direct,
    Wildcard,
    Indexed,
}

/// <summary>
/// The steps a relation set leads evaluation to: each an object and the member to evaluate on it, with the caveat of the
/// relationship that leads there (null: none). A subject that offers no step — an arrow's subject whose type lacks the
/// target member, or whose record is not loaded — is still reported, with a null member, because an intersection arrow
/// is false when any subject lacks the member.
/// </summary>
internal interface ITargetCursor<TObject>
{
    bool MoveNext([MaybeNull] out TObject target, out MemberDefinition? member, out BoundCaveat? caveat);
}

/// <summary>
/// The relationships the <see cref="PlanEvaluator{TView, TObject, TSubject, TKey, TRelation, TTargets}"/> reads: objects
/// (<typeparamref name="TObject"/>) holding relation sets (<typeparamref name="TRelation"/>), and a resolved subject
/// (<typeparamref name="TSubject"/>). The engine's in-memory graph is one view, the shared graph's records another.
/// </summary>
internal interface IRelationshipView<TObject, TSubject, TKey, TRelation, TTargets>
    where TKey : notnull
    where TTargets : struct, ITargetCursor<TObject>
{
    /// <summary>The memo key of evaluating <paramref name="member"/> on <paramref name="resource"/>.</summary>
    TKey StepKey(TObject resource, MemberDefinition member);

    /// <summary>Whether the subject is the subject set <paramref name="resource"/>#<paramref name="member"/> (a set contains itself).</summary>
    bool IsSubjectSet(TObject resource, MemberDefinition member, in TSubject subject);

    /// <summary>The subjects stored on <paramref name="resource"/>#<paramref name="relation"/>; false when none are.</summary>
    bool TryFindRelation(TObject resource, int relation, [MaybeNullWhen(false)] out TRelation set);

    /// <summary>Whether the set holds the subject directly, through its wildcard, or through a precomputed membership, under no caveat.</summary>
    RelationMatch Match(TRelation set, in TSubject subject);

    /// <summary>
    /// The caveats under which the set holds the subject directly (<paramref name="direct"/>) or through its wildcard
    /// (<paramref name="wildcard"/>) when it holds it only under one; false when it holds neither so.
    /// </summary>
    bool TryCaveatedMatch(TRelation set, in TSubject subject, out BoundCaveat? direct, out BoundCaveat? wildcard);

    /// <summary>The subject sets of <paramref name="set"/> that name a permission, to evaluate on their objects; false when it has none.</summary>
    bool TryComputedSets(TRelation set, out TTargets targets);

    /// <summary>The objects an arrow walks from <paramref name="set"/>, each with the member it evaluates there (by type).</summary>
    TTargets ArrowTargets(TRelation set, MemberDefinition?[] targets);

    /// <summary>For explanations: the step <paramref name="resource"/>#<paramref name="member"/>.</summary>
    string DescribeStep(TObject resource, MemberDefinition member);

    /// <summary>For explanations: the indexed set of <paramref name="set"/> the subject is a member of.</summary>
    string DescribeIndexedMatch(TRelation set, in TSubject subject);
}

/// <summary>
/// The one evaluator of compiled plans, over any relationship view. A struct view specialises it at JIT time, so a
/// check pays no interface dispatch and allocates nothing (and with value types for every argument, as the engine's
/// view has, the code is not shared with other instantiations). Union, arrows and subject sets are true as soon as one
/// operand is true, whatever its position (a cycle or too deep a chain in another operand does not hide it); unknown
/// when none is true and one is unknown. A caveated relationship counts when its caveat holds on the check's context,
/// not when it does not, and makes what it leads to conditional when the context lacks a parameter the caveat needs;
/// a caveat is evaluated only when evaluation reaches its relationship (a false one never short-circuits anything).
/// </summary>
internal readonly struct PlanEvaluator<TView, TObject, TSubject, TKey, TRelation, TTargets>(TView view, int maxDepth)
    where TView : struct, IRelationshipView<TObject, TSubject, TKey, TRelation, TTargets>
    where TKey : notnull
    where TTargets : struct, ITargetCursor<TObject>
{
    /// <summary>Evaluates <paramref name="member"/> on <paramref name="resource"/>; with a <paramref name="trace"/>, records each step under it.</summary>
    public Outcome Member(TObject resource, MemberDefinition member, in TSubject subject, int depth, ExplainNode? trace, ref EvaluationState<TKey> state)
    {
        // The calls this step nests: itself and its plan's operators.
        var nesting = member is PermissionDefinition permission ? 1 + permission.Plan.Height : 1;
        var step = trace?.Child(view.DescribeStep(resource, member));
        if (depth > maxDepth || state.Nesting + nesting > EvaluationState<TKey>.MaxNesting)
        {
            step?.Done(false, $"undecided: deeper than {maxDepth} steps");
            return Outcome.Unknown;
        }

        if (view.IsSubjectSet(resource, member, in subject))
        {
            step?.Done(true, "the subject is this set");
            return Outcome.True;
        }

        var key = view.StepKey(resource, member);
        if (!state.TryEnter(key, out var known))
        {
            step?.Done(known == Outcome.True, known == Outcome.Unknown ? "undecided: a cycle back to a step under evaluation" : "evaluated earlier in this check");
            return known;
        }

        state.Nesting += nesting;
        var result = member is RelationDefinition relation
            ? Relation(resource, relation, in subject, depth, step, ref state)
            : Plan(Unsafe.As<PermissionDefinition>(member).Plan, resource, in subject, depth, step, ref state);
        state.Nesting -= nesting;
        state.Leave(key, result);
        Done(step, result);
        return result;
    }

    private Outcome Relation(TObject resource, RelationDefinition relation, in TSubject subject, int depth, ExplainNode? step, ref EvaluationState<TKey> state)
    {
        if (!view.TryFindRelation(resource, relation.Index, out var set))
        {
            step?.Done(false, "no relationships");
            return Outcome.False;
        }

        switch (view.Match(set, in subject))
        {
            case RelationMatch.Direct:
                step?.Done(true, "direct");
                return Outcome.True;
            case RelationMatch.Wildcard:
                step?.Done(true, "wildcard");
                return Outcome.True;
            case RelationMatch.Indexed:
                step?.Done(true, "member of " + view.DescribeIndexedMatch(set, in subject));
                return Outcome.True;
        }

        var result = Outcome.False;
        if (view.TryCaveatedMatch(set, in subject, out var direct, out var wildcard)
            && (Fold(ref result, direct is null ? Outcome.False : Condition(direct, ref state), decisive: Outcome.True)
                || Fold(ref result, wildcard is null ? Outcome.False : Condition(wildcard, ref state), decisive: Outcome.True)))
        {
            step?.Done(true, "direct, its caveat holds");
            return Outcome.True;
        }

        // Most sets have no computed subject sets: the cursor is built only for those that do.
        if (!view.TryComputedSets(set, out var computed))
        {
            return result;
        }

        while (computed.MoveNext(out var target, out var member, out var caveat))
        {
            if (member is not null && Fold(ref result, Guarded(caveat, target!, member, in subject, depth, step, ref state), decisive: Outcome.True))
            {
                break;
            }
        }

        return result;
    }

    // A step through a relationship: evaluated only when its caveat (if any) does not fail, and conditional when the
    // caveat is.
    private Outcome Guarded(BoundCaveat? caveat, TObject target, MemberDefinition member, in TSubject subject, int depth, ExplainNode? step, ref EvaluationState<TKey> state)
    {
        var condition = Condition(caveat, ref state);
        return condition == Outcome.False ? Outcome.False : Outcomes.Under(condition, Member(target, member, in subject, depth + 1, step, ref state));
    }

    // A relationship's caveat on the check's context: true without a caveat; conditional (its missing parameters noted)
    // when the context lacks one it needs.
    private static Outcome Condition(BoundCaveat? caveat, ref EvaluationState<TKey> state)
    {
        if (caveat is null)
        {
            return Outcome.True;
        }

        var result = caveat.Evaluate(state.Context);
        switch (result.Outcome)
        {
            case Caveats.CaveatOutcome.True:
                return Outcome.True;
            case Caveats.CaveatOutcome.False:
                return Outcome.False;
            default:
                state.AddMissing(result.MissingParameters);
                return Outcome.Conditional;
        }
    }

    private Outcome Plan(PlanNode plan, TObject resource, in TSubject subject, int depth, ExplainNode? trace, ref EvaluationState<TKey> state)
    {
        switch (plan.Kind)
        {
            case PlanKind.Member:
                return Member(resource, plan.Member!, in subject, depth, trace, ref state);
            case PlanKind.Arrow:
            {
                var step = trace?.Child(plan.ToString());
                var result = Outcome.False;
                if (view.TryFindRelation(resource, plan.ArrowRelation!.Index, out var set))
                {
                    var targets = view.ArrowTargets(set, plan.ArrowTargetArray);
                    result = plan.ArrowAll ? Every(ref targets, in subject, depth, step, ref state) : Some(ref targets, in subject, depth, step, ref state);
                }

                return Done(step, result);
            }

            case PlanKind.Union:
            case PlanKind.Intersection:
            {
                // A union is decided by its first true operand, an intersection by its first false one; without such
                // an operand it is the other value (or unknown).
                var decisive = plan.Kind == PlanKind.Union ? Outcome.True : Outcome.False;
                var step = trace?.Child(plan.ToString());
                var result = decisive == Outcome.True ? Outcome.False : Outcome.True;
                foreach (var child in plan.ChildArray)
                {
                    if (Fold(ref result, Plan(child, resource, in subject, depth, step, ref state), decisive))
                    {
                        break;
                    }
                }

                return Done(step, result);
            }

            case PlanKind.Exclusion:
            {
                var step = trace?.Child(plan.ToString());
                var included = Plan(plan.ChildArray[0], resource, in subject, depth, step, ref state);
                var result = included == Outcome.False
                    ? Outcome.False
                    : Outcomes.Exclude(included, Plan(plan.ChildArray[1], resource, in subject, depth, step, ref state));
                return Done(step, result);
            }

            default:
                return Outcome.False;
        }
    }

    // An arrow: some object walked has the member (objects whose type lacks it are passed over).
    private Outcome Some(ref TTargets targets, in TSubject subject, int depth, ExplainNode? step, ref EvaluationState<TKey> state)
    {
        var result = Outcome.False;
        while (targets.MoveNext(out var target, out var member, out var caveat))
        {
            if (member is not null && Fold(ref result, Guarded(caveat, target!, member, in subject, depth, step, ref state), decisive: Outcome.True))
            {
                break;
            }
        }

        return result;
    }

    // An intersection arrow (SpiceDB's 'rel.all(m)'): every object walked has the member; one whose type lacks it does
    // not, and walking none grants nothing. As in SpiceDB, a caveated relationship is walked whatever its caveat, and
    // counts as the caveat and the member together: one whose caveat fails makes the arrow false.
    private Outcome Every(ref TTargets targets, in TSubject subject, int depth, ExplainNode? step, ref EvaluationState<TKey> state)
    {
        var result = Outcome.True;
        var walked = false;
        while (targets.MoveNext(out var target, out var member, out var caveat))
        {
            walked = true;
            if (member is null || Fold(ref result, Guarded(caveat, target!, member, in subject, depth, step, ref state), decisive: Outcome.False))
            {
                return Outcome.False;
            }
        }

        return walked ? result : Outcome.False;
    }

    // Folds one operand into a union (decisive: True) or intersection (decisive: False): the decisive value decides it
    // (true: stop); otherwise Unknown sticks, then Conditional, and the other value leaves it as it is.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Fold(ref Outcome result, Outcome found, Outcome decisive)
    {
        if (found == decisive)
        {
            result = decisive;
            return true;
        }

        result = found == Outcome.Unknown || result == Outcome.Unknown ? Outcome.Unknown
            : found == Outcome.Conditional ? Outcome.Conditional
            : result;
        return false;
    }

    private static Outcome Done(ExplainNode? step, Outcome result)
    {
        step?.Done(result == Outcome.True, result switch
        {
            Outcome.Unknown => "undecided: a cycle or too deep a chain below",
            Outcome.Conditional => "conditional: a caveat below lacks context",
            _ => null,
        });
        return result;
    }
}
