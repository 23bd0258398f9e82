namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// The state of one <see cref="CompiledCaveat.Evaluate"/> call: the converted parameters, the comprehension variables
/// and the cost budget left. One per call, so a compiled caveat is shared across threads without locks.
/// </summary>
internal sealed class Evaluation
{
    /// <summary>Units one evaluation may spend: every node costs 1, plus the per-length costs in <see cref="Functions"/>.</summary>
    public const int Budget = 10_000;

    private long remaining;

    public Evaluation(CelValue[] parameters, int slotCount, long budget)
    {
        Parameters = parameters;
        Slots = slotCount == 0 ? [] : new CelValue[slotCount];
        remaining = budget;
    }

    public CelValue[] Parameters { get; }

    public CelValue[] Slots { get; }

    public void Charge(long units)
    {
        remaining -= units;
        if (remaining < 0)
        {
            throw new CaveatException(CaveatErrorKind.CostExceeded, $"caveat evaluation exceeded its cost budget of {Budget} units");
        }
    }

    /// <summary>Strings and bytes cost 1 unit per 16 code units scanned: cheap enough not to matter for short values.</summary>
    public void ChargeLength(int length) => Charge(length >> 4);
}
