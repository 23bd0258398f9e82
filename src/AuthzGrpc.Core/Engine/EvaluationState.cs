using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// What a sub-evaluation found. <see cref="Unknown"/> means it could not be decided: it met a cycle (a step already
/// under evaluation) or went deeper than the depth limit. Operators combine it as three-valued (Kleene) logic, so a
/// union with one operand true is true whatever the others are, and an unknown that could change the answer reaches
/// the root, where it is an error — never an allow. <see cref="Conditional"/> means it holds only under a caveat whose
/// context the check did not supply: operators treat it as a value between false and true, below unknown (an
/// undecided operand that could change the answer still makes it an error).
/// </summary>
internal enum Outcome : byte
{
    False,
    True,
    Unknown,
    Conditional,
}

/// <summary>
/// The bookkeeping of one evaluation (one Check, one candidate of a lookup): the sub-evaluations counted against the
/// budget, the call's cancellation, and the sub-results shared within it, so each (object, member) is evaluated at
/// most once for the subject, as SpiceDB's dispatch shares them. A mutable struct passed by <c>ref</c> down the
/// recursion: a shallow check allocates nothing, and the memo is created only once an evaluation has taken
/// <see cref="MemoAfter"/> steps.
/// </summary>
/// <remarks>
/// Only decided results are kept. A result computed while some operand was unknown is kept when decided (three-valued
/// logic makes it the same whatever the unknown turns out to be); an unknown one is not, because it may depend on a step
/// still under evaluation higher up. A step under evaluation is marked, so meeting it again (a cycle) answers unknown
/// at once instead of recursing to the depth limit.
/// </remarks>
internal struct EvaluationState<TKey>
    where TKey : notnull
{
    /// <summary>Steps taken before sub-results start being shared: below it, evaluation allocates nothing.</summary>
    internal const int MemoAfter = 64;

    /// <summary>
    /// Most nested evaluation calls (steps and operators) at once. The depth limit counts only arrows and subject sets;
    /// a chain of permissions on one object nests without them, and this bound keeps such a schema from exhausting the
    /// thread's stack (which would end the process): past it the step is undecided, as past the depth limit.
    /// </summary>
    internal const int MaxNesting = 1000;

    // Cancellation is looked at once per this many steps (a power of two); the read is cheap, but not free.
    private const int CancellationStride = 64;

    // A memo slot whose step is under evaluation.
    private const Outcome InProgress = (Outcome)255;

    private readonly long _budget;
    private readonly CancellationToken _cancellation;
    private readonly CancellationToken _shutdown;
    private Dictionary<TKey, Outcome>? _memo;
    private SortedSet<string>? _missing;

    /// <summary>
    /// Starts an evaluation of at most <paramref name="budget"/> steps that stops once the call's
    /// <paramref name="cancellation"/> or the process's <paramref name="shutdown"/> is cancelled (two tokens, so that
    /// the hot path need not allocate a linked source).
    /// </summary>
    public EvaluationState(long budget, CancellationToken cancellation, CancellationToken shutdown = default)
    {
        _budget = budget;
        _cancellation = cancellation;
        _shutdown = shutdown;
    }

    /// <summary>The caveat context the check supplies (null: none); a relationship's own context is merged over it.</summary>
    public CaveatContext? Context;

    /// <summary>
    /// The caveat parameters the evaluation found missing (sorted, ordinal), or empty. Every caveat met that could not
    /// be decided adds its own, so supplying all of them decides the check.
    /// </summary>
    public readonly IReadOnlyCollection<string> MissingParameters => (IReadOnlyCollection<string>?)_missing ?? [];

    /// <summary>Records parameters a caveat needed and the context lacked.</summary>
    public void AddMissing(IReadOnlyList<string> names)
    {
        _missing ??= new SortedSet<string>(StringComparer.Ordinal);
        _missing.UnionWith(names);
    }

    /// <summary>Steps taken since the evaluation (or the current root of a lookup) started.</summary>
    public long Work { get; private set; }

    /// <summary>Evaluation calls under way (see <see cref="MaxNesting"/>).</summary>
    public int Nesting;

    /// <summary>
    /// Counts one step and looks it up: true when it must be evaluated (then call <see cref="Leave"/> with its outcome);
    /// false with <paramref name="known"/> when it was decided earlier in this evaluation or is under evaluation now
    /// (a cycle: <see cref="Outcome.Unknown"/>). Throws <see cref="AuthzException"/> (ResourceExhausted) past the
    /// budget and <see cref="OperationCanceledException"/> once the call is cancelled or the process shuts down.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnter(TKey key, out Outcome known)
    {
        var work = ++Work;
        if (work > _budget)
        {
            Outcomes.ThrowOverLimit(AuthzErrorKind.ResourceExhausted, _budget);
        }

        if ((work & (CancellationStride - 1)) == 0)
        {
            ThrowIfCancelled();
        }

        known = Outcome.False;
        return (_memo is null && work < MemoAfter) || TryEnterShared(key, out known);
    }

    // Past the first steps: look the step up in the memo (created now if need be), marking it under evaluation.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryEnterShared(TKey key, out Outcome known)
    {
        _memo ??= [];
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_memo, key, out var exists);
        if (exists)
        {
            known = slot == InProgress ? Outcome.Unknown : slot;
            return false;
        }

        slot = InProgress;
        known = Outcome.False;
        return true;
    }

    private readonly void ThrowIfCancelled()
    {
        _cancellation.ThrowIfCancellationRequested();
        _shutdown.ThrowIfCancellationRequested();
    }

    /// <summary>Records the outcome of a step <see cref="TryEnter"/> let through.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Leave(TKey key, Outcome outcome)
    {
        if (_memo is not null)
        {
            Share(key, outcome);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void Share(TKey key, Outcome outcome)
    {
        if (outcome == Outcome.Unknown)
        {
            _memo!.Remove(key);
        }
        else
        {
            _memo![key] = outcome;
        }
    }

    /// <summary>
    /// Starts the next root of a lookup: the budget and the missing caveat parameters start afresh. The shared results
    /// are kept for the same subject (they stay true for it) and dropped for another (<paramref name="sameSubject"/>
    /// false); a lookup under caveats drops them too, as a shared conditional result would not name its parameters again.
    /// </summary>
    public void NextRoot(bool sameSubject)
    {
        Work = 0;
        _missing = null;
        if (!sameSubject)
        {
            _memo?.Clear();
        }
    }
}

/// <summary>Three-valued helpers shared by the evaluators.</summary>
internal static class Outcomes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Outcome Of(bool value) => value ? Outcome.True : Outcome.False;

    /// <summary>
    /// <c>left - right</c>: true only when left is true and right is false; false when either decides it; unknown when
    /// an unknown operand could change it; otherwise conditional.
    /// </summary>
    public static Outcome Exclude(Outcome left, Outcome right) =>
        left == Outcome.False || right == Outcome.True ? Outcome.False
        : left == Outcome.True && right == Outcome.False ? Outcome.True
        : left == Outcome.Unknown || right == Outcome.Unknown ? Outcome.Unknown
        : Outcome.Conditional;

    /// <summary>
    /// A step reached through a caveated relationship: <paramref name="found"/> when the caveat holds, limited to
    /// conditional when the caveat is (false decides it, unknown stays unknown).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Outcome Under(Outcome caveat, Outcome found) =>
        caveat == Outcome.True || found is Outcome.False or Outcome.Unknown ? found : Outcome.Conditional;

    /// <summary>The decision at the root: an undecided evaluation is an error, never an allow; a conditional one is not an allow either.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Decide(Outcome outcome, int maxDepth) => Settle(outcome, maxDepth) == Outcome.True;

    /// <summary>The outcome at the root: true, false or conditional; an undecided evaluation is an error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Outcome Settle(Outcome outcome, int maxDepth)
    {
        if (outcome == Outcome.Unknown)
        {
            ThrowOverLimit(AuthzErrorKind.DepthExceeded, maxDepth);
        }

        return outcome;
    }

    // The two limits an evaluation can hit: its step budget, and its depth (or a cycle) without a decision.
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowOverLimit(AuthzErrorKind limit, long value) =>
        throw new AuthzException(limit, limit == AuthzErrorKind.ResourceExhausted
            ? $"evaluation needed more than {value} steps, its budget: the schema and relationships make this check too expensive to answer"
            : $"evaluation went deeper than {value} steps or around a cycle without deciding: the relationships form a cycle or a chain too deep to evaluate");
}
