namespace AuthzGrpc.Core;

/// <summary>Which revision a read must reflect: what a request's <c>consistency</c> asks, parsed once at the edge.</summary>
public enum ConsistencyRequirement
{
    /// <summary>The state in force, without waiting or asking the store (also what an unset consistency means).</summary>
    MinimizeLatency,

    /// <summary>At least <see cref="ReadConsistency.Revision"/>: the token of a write or a check.</summary>
    AtLeast,

    /// <summary>Everything the store has committed when the read starts.</summary>
    FullyConsistent,
}

/// <summary>
/// A read's consistency requirement, resolved before dispatch so that the layers that answer it (near cache, shared
/// graph, engine) decide on a value that is already known to be well formed, never on the text a caller sent.
/// The default is <see cref="ConsistencyRequirement.MinimizeLatency"/>.
/// </summary>
/// <param name="Requirement">What the read must reflect.</param>
/// <param name="Revision">The revision an <see cref="ConsistencyRequirement.AtLeast"/> read must reflect; 0 otherwise.</param>
public readonly record struct ReadConsistency(ConsistencyRequirement Requirement, long Revision)
{
    /// <summary>The state in force: no wait, no store call.</summary>
    public static ReadConsistency MinimizeLatency => default;

    /// <summary>Everything the store has committed.</summary>
    public static ReadConsistency FullyConsistent => new(ConsistencyRequirement.FullyConsistent, 0);

    /// <summary>At least <paramref name="revision"/>.</summary>
    public static ReadConsistency AtLeast(long revision) => new(ConsistencyRequirement.AtLeast, revision);

    /// <summary>
    /// The revision a cached copy (the shared graph, the near cache) must have reached to answer, or null when any will
    /// do. Not meaningful for <see cref="ConsistencyRequirement.FullyConsistent"/>, which only the source of truth can
    /// answer.
    /// </summary>
    public long? MinimumRevision => Requirement == ConsistencyRequirement.AtLeast ? Revision : null;

    /// <summary>
    /// The consistency of a lookup page that resumes from a cursor taken at <paramref name="cursorRevision"/>: never older
    /// than the page before it. <paramref name="cursorDecides"/> is true when the cursor's revision is the stricter
    /// requirement (so a revision the store has not committed is the cursor's fault, not a token's).
    /// </summary>
    public ReadConsistency ResumingAt(long cursorRevision, out bool cursorDecides)
    {
        cursorDecides = Requirement switch
        {
            ConsistencyRequirement.FullyConsistent => false,
            ConsistencyRequirement.AtLeast => Revision < cursorRevision,
            _ => true,
        };
        return cursorDecides ? AtLeast(cursorRevision) : this;
    }
}
