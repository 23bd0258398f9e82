namespace AuthzGrpc.Core.Schema;

/// <summary>
/// A schema that cannot be accepted. <see cref="Line"/> and <see cref="Column"/> are 1-based and point at
/// the token that is wrong; <see cref="Detail"/> says what to fix, without the position.
/// </summary>
/// <param name="line">1-based line of the offending token.</param>
/// <param name="column">1-based column of the offending token.</param>
/// <param name="detail">What is wrong and how to fix it.</param>
public sealed class SchemaException(int line, int column, string detail)
    : Exception($"line {line}, column {column}: {detail}")
{
    /// <summary>1-based line of the offending token.</summary>
    public int Line { get; } = line;

    /// <summary>1-based column of the offending token.</summary>
    public int Column { get; } = column;

    /// <summary>What is wrong and how to fix it.</summary>
    public string Detail { get; } = detail;
}

/// <summary>
/// Something a schema holds that is accepted but worth fixing; <see cref="Line"/> and <see cref="Column"/> are 1-based
/// and point at it.
/// </summary>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Detail">What it is and what it means.</param>
public sealed record SchemaWarning(int Line, int Column, string Detail)
{
    /// <inheritdoc/>
    public override string ToString() => $"line {Line}, column {Column}: {Detail}";
}
