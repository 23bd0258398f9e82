namespace AuthzGrpc.Core.Schema;

/// <summary>
/// A schema that cannot be accepted. <see cref="Line"/> and <see cref="Column"/> are 1-based and point at
/// the token that is wrong; <see cref="Detail"/> says what to fix, without the position.
/// </summary>
public sealed class SchemaException : Exception
{
    /// <summary>Creates the error for a position in the schema text.</summary>
    public SchemaException(int line, int column, string detail)
        : base($"line {line}, column {column}: {detail}")
    {
        Line = line;
        Column = column;
        Detail = detail;
    }

    /// <summary>1-based line of the offending token.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending token.</summary>
    public int Column { get; }

    /// <summary>What is wrong and how to fix it.</summary>
    public string Detail { get; }
}
