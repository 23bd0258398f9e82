namespace AuthzGrpc.Core.Schema;

/// <summary>The kinds of plan node.</summary>
public enum PlanKind
{
    /// <summary>The empty set.</summary>
    Nil,

    /// <summary>Another member of the same object (a relation lookup or a permission's plan).</summary>
    Member,

    /// <summary>Walk a relation, then evaluate a member on each object reached: some (or, with <see cref="PlanNode.ArrowAll"/>, every) object must have it.</summary>
    Arrow,

    /// <summary>Any child.</summary>
    Union,

    /// <summary>Every child.</summary>
    Intersection,

    /// <summary>The first child and not the second.</summary>
    Exclusion,
}

/// <summary>
/// A node of a compiled permission: names are resolved to definitions, so evaluation never looks a name up.
/// </summary>
public sealed class PlanNode
{
    /// <summary>The shared empty-set node.</summary>
    public static readonly PlanNode Nil = new(PlanKind.Nil);

    private PlanNode(PlanKind kind) => Kind = kind;

    /// <summary>What this node computes.</summary>
    public PlanKind Kind { get; private init; }

    /// <summary>For <see cref="PlanKind.Member"/>: the member of the same object.</summary>
    public MemberDefinition? Member { get; private init; }

    /// <summary>For <see cref="PlanKind.Arrow"/>: the relation walked.</summary>
    public RelationDefinition? ArrowRelation { get; private init; }

    /// <summary>
    /// For <see cref="PlanKind.Arrow"/>: an intersection arrow (<c>rel.all(m)</c>): every object in the relation must
    /// have the member — one whose type lacks it does not — and a relation holding none grants nothing.
    /// </summary>
    public bool ArrowAll { get; private init; }

    /// <summary>For <see cref="PlanKind.Arrow"/>: the target member name.</summary>
    public string? ArrowTargetName { get; private init; }

    /// <summary>For <see cref="PlanKind.Arrow"/>: the target member per type index (null where the type lacks it).</summary>
    public IReadOnlyList<MemberDefinition?> ArrowTargets { get; private init; } = [];

    /// <summary>Operands of union, intersection and exclusion (exclusion: exactly two).</summary>
    public IReadOnlyList<PlanNode> Children { get; private init; } = [];

    internal MemberDefinition?[] ArrowTargetArray { get; private init; } = [];

    internal PlanNode[] ChildArray { get; private init; } = [];

    /// <summary>Operators nested under and including this node (0 for a leaf): the evaluator's stack use within it.</summary>
    internal int Height { get; private init; }

    internal static PlanNode ForMember(MemberDefinition member) => new(PlanKind.Member) { Member = member };

    internal static PlanNode ForArrow(RelationDefinition relation, string targetName, MemberDefinition?[] targets, bool all) =>
        new(PlanKind.Arrow) { ArrowRelation = relation, ArrowTargetName = targetName, ArrowTargets = targets, ArrowTargetArray = targets, ArrowAll = all };

    internal static PlanNode ForOperator(PlanKind kind, PlanNode[] children) =>
        new(kind) { Children = children, ChildArray = children, Height = 1 + children.Max(c => c.Height) };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        PlanKind.Nil => "nil",
        PlanKind.Member => Member!.Name,
        PlanKind.Arrow => ArrowAll ? $"{ArrowRelation!.Name}.all({ArrowTargetName})" : $"{ArrowRelation!.Name}->{ArrowTargetName}",
        PlanKind.Union => "(" + string.Join(" + ", Children) + ")",
        PlanKind.Intersection => "(" + string.Join(" & ", Children) + ")",
        _ => $"({Children[0]} - {Children[1]})",
    };
}
