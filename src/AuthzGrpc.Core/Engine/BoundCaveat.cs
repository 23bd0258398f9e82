using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// A stored relationship's caveat, resolved against the schema: the compiled caveat and the context written with the
/// relationship. Immutable and shared by every version of the graph that holds the relationship.
/// </summary>
internal sealed class BoundCaveat(CompiledCaveat caveat, CaveatContext context)
{
    public CompiledCaveat Caveat { get; } = caveat;

    public CaveatContext Context { get; } = context;

    /// <summary>The relationship's caveat as the model states it.</summary>
    public RelationshipCaveat Describe() => new(Caveat.Name, Context);

    /// <summary>
    /// Whether the caveat holds with the check's <paramref name="request"/> context under this relationship's own (which
    /// wins where both give a parameter). A context that does not fit the parameters' types, or an expression that
    /// fails, is InvalidArgument; one that costs too much is ResourceExhausted — never an allow.
    /// </summary>
    public CaveatResult Evaluate(CaveatContext? request)
    {
        var context = request is null || request.IsEmpty ? Context : Context.IsEmpty ? request : CaveatContext.Merge(Context, request);
        try
        {
            return Caveat.Evaluate(context);
        }
        catch (CaveatException e)
        {
            throw new AuthzException(
                e.Kind == CaveatErrorKind.CostExceeded ? AuthzErrorKind.ResourceExhausted : AuthzErrorKind.InvalidArgument,
                e.Message);
        }
    }
}
