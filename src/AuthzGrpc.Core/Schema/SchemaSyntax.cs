namespace AuthzGrpc.Core.Schema;

/// <summary>A position in the schema text (1-based).</summary>
public readonly record struct SourcePosition(int Line, int Column);

/// <summary>The parsed schema, before names are resolved.</summary>
public sealed record SchemaDocument(IReadOnlyList<DefinitionSyntax> Definitions);

/// <summary><c>definition name { ... }</c>.</summary>
public sealed record DefinitionSyntax(string Name, SourcePosition Position, IReadOnlyList<MemberSyntax> Members);

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
    /// <inheritdoc/>
    public override string ToString() => Wildcard ? $"{Type}:*" : Relation is null ? Type : $"{Type}#{Relation}";
}

/// <summary>A permission expression.</summary>
public abstract record ExpressionSyntax(SourcePosition Position);

/// <summary>A reference to a relation or permission of the same definition.</summary>
public sealed record NameSyntax(string Name, SourcePosition Position) : ExpressionSyntax(Position);

/// <summary><c>relation->member</c>: walk the relation, evaluate the member on each object found.</summary>
public sealed record ArrowSyntax(string Relation, string Target, SourcePosition Position, SourcePosition TargetPosition)
    : ExpressionSyntax(Position);

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
