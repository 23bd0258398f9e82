namespace AuthzGrpc.Core.Engine;

/// <summary>What a check answers.</summary>
public enum Permissionship
{
    /// <summary>The subject does not have the permission.</summary>
    Denied,

    /// <summary>The subject has the permission.</summary>
    Allowed,

    /// <summary>
    /// The subject has it only if caveats hold whose parameters the check did not supply: not an allow. Asking again
    /// with <see cref="CheckDecision.MissingParameters"/> in the context decides it.
    /// </summary>
    Conditional,
}

/// <summary>A check's answer, with the caveat parameters to supply when it is conditional (sorted; empty otherwise).</summary>
public readonly record struct CheckDecision(Permissionship Permissionship, IReadOnlyList<string> MissingParameters)
{
    /// <summary>Allowed.</summary>
    public static CheckDecision Allowed => new(Permissionship.Allowed, []);

    /// <summary>Denied.</summary>
    public static CheckDecision Denied => new(Permissionship.Denied, []);

    /// <summary>Conditional on <paramref name="missing"/>.</summary>
    public static CheckDecision Conditional(IReadOnlyList<string> missing) => new(Permissionship.Conditional, missing);

    /// <summary>Whether it is an allow.</summary>
    public bool IsAllowed => Permissionship == Permissionship.Allowed;
}
