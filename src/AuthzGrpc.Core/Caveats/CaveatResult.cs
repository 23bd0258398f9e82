namespace AuthzGrpc.Core.Caveats;

/// <summary>A caveat parameter as the schema declares it: <c>name type</c>.</summary>
public sealed record CaveatParameter(string Name, CaveatType Type);

/// <summary>What a caveat evaluated to. <see cref="Missing"/> is SpiceDB's CONDITIONAL_PERMISSION.</summary>
public enum CaveatOutcome
{
    /// <summary>The expression is false for the context given.</summary>
    False,

    /// <summary>The expression is true for the context given.</summary>
    True,

    /// <summary>The result depends on parameters the context does not give.</summary>
    Missing,
}

/// <summary>
/// The outcome of one evaluation; <see cref="MissingParameters"/> (sorted ordinal) lists, when the outcome is
/// <see cref="CaveatOutcome.Missing"/>, the absent parameters whose values would decide it, and is empty otherwise.
/// </summary>
public readonly record struct CaveatResult(CaveatOutcome Outcome, IReadOnlyList<string> MissingParameters)
{
    /// <summary>The expression held.</summary>
    public static CaveatResult True { get; } = new(CaveatOutcome.True, []);

    /// <summary>The expression did not hold.</summary>
    public static CaveatResult False { get; } = new(CaveatOutcome.False, []);
}
