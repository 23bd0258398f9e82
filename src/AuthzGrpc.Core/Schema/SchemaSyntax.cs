namespace AuthzGrpc.Core.Schema;

/// <summary>A position in the schema text (1-based).</summary>
public readonly record struct SourcePosition(int Line, int Column);

/// <summary>The parsed schema, before names are resolved.</summary>
public sealed record SchemaDocument(IReadOnlyList<DefinitionSyntax> Definitions)
{
    /// <summary>Where <c>use expiration</c> enables expiring relationships (SpiceDB's flag), or null without it.</summary>
    public SourcePosition? UseExpiration { get; init; }

    /// <summary>The <c>caveat</c> definitions, in the order written.</summary>
    public IReadOnlyList<CaveatSyntax> Caveats { get; init; } = [];
}

/// <summary>
/// <c>caveat name(param type, ...) { expression }</c>: a condition in CEL over named, typed parameters, which a
/// relationship written <c>with name</c> needs to hold.
/// </summary>
/// <param name="Name">The caveat's name (it may carry a prefix, as definition names do).</param>
/// <param name="Position">Where the name is.</param>
/// <param name="Parameters">Each parameter with its type as written (<c>int</c>, <c>list&lt;string&gt;</c>, ...) and where its name is.</param>
/// <param name="Expression">The CEL expression as written between the braces.</param>
/// <param name="ExpressionPosition">Where the expression's text starts (its first character, after the brace).</param>
public sealed record CaveatSyntax(
    string Name, SourcePosition Position, IReadOnlyList<CaveatParameterSyntax> Parameters, string Expression, SourcePosition ExpressionPosition);

/// <summary>One parameter of a caveat: its name, its type as written, and where the name is.</summary>
public sealed record CaveatParameterSyntax(string Name, string Type, SourcePosition Position);

/// <summary><c>definition name { ... }</c>.</summary>
public sealed record DefinitionSyntax(string Name, SourcePosition Position, IReadOnlyList<MemberSyntax> Members)
{
    /// <summary>The management rules written in the definition, in order.</summary>
    public IReadOnlyList<RuleSyntax> Rules { get; init; } = [];
}

/// <summary>The kinds of management rule.</summary>
public enum RuleKind
{
    /// <summary>
    /// <c>grant r1, r2 by permission [holding [p]] [except self] [to p] [unless p]</c>: who may add these relations (a
    /// relation may have several grant rules; any one that holds allows the grant).
    /// </summary>
    Grant,

    /// <summary><c>revoke r1, r2 by permission [except self]</c>: who may remove them.</summary>
    Revoke,

    /// <summary><c>manage r1, r2 by permission [holding] [except self]</c>: grant and revoke alike.</summary>
    Manage,

    /// <summary><c>minimum N relation</c>: the relation keeps at least N subjects.</summary>
    Minimum,

    /// <summary><c>base relation</c>: the membership that any grant inside this object implies, and whose removal cascades.</summary>
    Base,

    /// <summary><c>leave by permission</c>: who may remove themself.</summary>
    Leave,

    /// <summary><c>transfer relation by permission</c>: who may hand the relation over to another subject.</summary>
    Transfer,

    /// <summary>
    /// <c>unique relation [when other]</c>: a subject may hold the relation on at most one object of this type (with
    /// <c>when</c>: an object with <c>other</c> set keeps its subject of the relation to itself).
    /// </summary>
    Unique,

    /// <summary><c>immutable relation [when other]</c>: once set, the relation does not change (while <c>other</c> is set).</summary>
    Immutable,

    /// <summary><c>exclusive r1, r2</c>: a subject holds at most one of these relations on an object.</summary>
    Exclusive,

    /// <summary><c>parent relation</c>: the object this one belongs to, for inheritance of memberships, member lists and cascades.</summary>
    Parent,

    /// <summary><c>create by relation-&gt;permission</c>: who may create an object of this type under a parent.</summary>
    Create,

    /// <summary><c>delete by permission</c>: who may delete an object of this type (and everything it contains).</summary>
    Delete,

    /// <summary><c>single r1, r2</c>: the relation holds one subject at most; granting it replaces the current one.</summary>
    Single,

    /// <summary>
    /// <c>match relation by|within|as other</c>: the subject written to the relation must fit this object — <c>by</c>:
    /// the subject's <c>other</c> is this object; <c>within</c>: the subject's <c>other</c> is this object's; <c>as</c>:
    /// the subject is this object's <c>other</c>.
    /// </summary>
    Match,

    /// <summary><c>audit by permission</c>: who may read the audit log about an object of this type.</summary>
    Audit,

    /// <summary><c>keys by permission</c>: who may create personal API keys (acting as themselves) on an object of this type.</summary>
    Keys,

    /// <summary><c>summary by permission</c>: who may read another subject's access summary across an object of this type.</summary>
    Summary,

    /// <summary><c>read by permission</c>: who may read an object of this type (GetResource; ListResources lists it).</summary>
    Read,

    /// <summary><c>members by permission</c>: who may read the member list of an object of this type (ListMembers).</summary>
    Members,

    /// <summary>
    /// <c>require one type#relation</c>: exactly one object of <c>type</c> whose <c>relation</c> names this object exists
    /// (a project's production environment): it is created with this object, and cannot be deleted alone.
    /// </summary>
    Require,

    /// <summary>
    /// <c>invite by permission</c>: who may invite to an object of this type (InviteMembers, and an invitation's grants
    /// on such an object), judged on the inviter when the invitation is made, on top of the grant rules of its roles.
    /// </summary>
    Invite,
}

/// <summary>A management rule: which changes the management API accepts. It has no effect on checks.</summary>
/// <param name="Kind">The rule.</param>
/// <param name="Relations">The relations it governs (one for every kind but grant, revoke and manage).</param>
/// <param name="By">The permission (or relation) the caller needs on the object; null for kinds without <c>by</c>.</param>
/// <param name="Holding">Grant only with what one holds: the granter must hold the relation being granted.</param>
/// <param name="ExceptSelf">Nobody may change their own relationships under this rule.</param>
/// <param name="Count">For <see cref="RuleKind.Minimum"/>.</param>
/// <param name="When">For <see cref="RuleKind.Immutable"/> and <see cref="RuleKind.Unique"/>: the relation whose presence makes it apply.</param>
/// <param name="Position">Where the rule starts.</param>
public sealed record RuleSyntax(
    RuleKind Kind, IReadOnlyList<NameSyntax> Relations, NameSyntax? By, bool Holding, bool ExceptSelf, int Count, NameSyntax? When, SourcePosition Position)
{
    /// <summary>With <c>holding name</c>: what the granter must hold instead of the relation itself.</summary>
    public NameSyntax? HoldingName { get; init; }

    /// <summary>For <c>create by relation-&gt;permission</c>: the permission on the parent.</summary>
    public NameSyntax? ByTarget { get; init; }

    /// <summary>With <c>to p</c>: the rule applies only to subjects that already have <c>p</c> on the object.</summary>
    public NameSyntax? To { get; init; }

    /// <summary>With <c>unless p</c>: the rule does not apply to subjects that have <c>p</c> on the object.</summary>
    public NameSyntax? Unless { get; init; }

    /// <summary>For <see cref="RuleKind.Match"/>: <c>by</c>, <c>within</c> or <c>as</c>.</summary>
    public string? MatchMode { get; init; }

    /// <summary>For <see cref="RuleKind.Require"/>: the type of the required object (its relation is in <see cref="Relations"/>).</summary>
    public NameSyntax? RequiredType { get; init; }
}

/// <summary>A relation or a permission inside a definition.</summary>
public abstract record MemberSyntax(string Name, SourcePosition Position);

/// <summary><c>relation name: type | type#relation | type:*</c>.</summary>
public sealed record RelationSyntax(string Name, SourcePosition Position, IReadOnlyList<SubjectTypeSyntax> SubjectTypes)
    : MemberSyntax(Name, Position);

/// <summary><c>permission name = expression</c>.</summary>
public sealed record PermissionSyntax(string Name, SourcePosition Position, ExpressionSyntax Expression)
    : MemberSyntax(Name, Position);

/// <summary>One allowed subject type of a relation: an object type, a subject set (<c>type#relation</c>) or a wildcard (<c>type:*</c>).</summary>
public sealed record SubjectTypeSyntax(string Type, string? Relation, bool Wildcard, SourcePosition Position)
{
    /// <summary>Where <c>with expiration</c> follows it (its relationships carry an expiry), or null.</summary>
    public SourcePosition? WithExpiration { get; init; }

    /// <summary>The caveat its relationships carry (<c>with name</c>), or null.</summary>
    public string? Caveat { get; init; }

    /// <summary>Where the caveat's name is, when it has one.</summary>
    public SourcePosition? CaveatPosition { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        (Wildcard ? $"{Type}:*" : Relation is null ? Type : $"{Type}#{Relation}") +
        (Caveat, WithExpiration) switch
        {
            (null, null) => string.Empty,
            (null, _) => " with expiration",
            (_, null) => $" with {Caveat}",
            _ => $" with {Caveat} and expiration",
        };
}

/// <summary>A permission expression.</summary>
public abstract record ExpressionSyntax(SourcePosition Position);

/// <summary>A reference to a relation or permission of the same definition.</summary>
public sealed record NameSyntax(string Name, SourcePosition Position) : ExpressionSyntax(Position);

/// <summary>
/// <c>relation->member</c> (or <c>relation.any(member)</c>): walk the relation, evaluate the member on each object found;
/// some object must have it. With <see cref="All"/> (<c>relation.all(member)</c>, an intersection arrow) every object
/// found must have it, and a relation with none grants nothing.
/// </summary>
public sealed record ArrowSyntax(string Relation, string Target, SourcePosition Position, SourcePosition TargetPosition, bool All = false)
    : ExpressionSyntax(Position)
{
    /// <summary>The arrow as messages quote it: <c>rel->m</c> or <c>rel.all(m)</c>.</summary>
    public string Text => All ? $"{Relation}.all({Target})" : $"{Relation}->{Target}";
}

/// <summary><c>nil</c>: the empty set.</summary>
public sealed record NilSyntax(SourcePosition Position) : ExpressionSyntax(Position);

/// <summary>The set operators.</summary>
public enum SetOperator
{
    /// <summary><c>+</c></summary>
    Union,

    /// <summary><c>&amp;</c></summary>
    Intersection,

    /// <summary><c>-</c></summary>
    Exclusion,
}

/// <summary><c>left op right</c>.</summary>
public sealed record BinarySyntax(SetOperator Operator, ExpressionSyntax Left, ExpressionSyntax Right, SourcePosition Position)
    : ExpressionSyntax(Position);
