namespace AuthzGrpc.Core.Caveats;

/// <summary>Which stage refused a caveat: its definition, the context given, the evaluation, or the cost budget.</summary>
public enum CaveatErrorKind
{
    /// <summary>The expression or its parameter list is invalid (syntax, unknown name, type mismatch, bounds).</summary>
    Compile,

    /// <summary>The context is not a bounded JSON object, or a value in it cannot convert to its parameter's declared type.</summary>
    InvalidContext,

    /// <summary>Evaluation hit a runtime error (division by zero, overflow, index out of range, missing map key...).</summary>
    Evaluation,

    /// <summary>Evaluation needed more than its cost budget.</summary>
    CostExceeded,
}

/// <summary>A caveat refused at compile time or failed at evaluation. Never means "allowed".</summary>
public sealed class CaveatException : Exception
{
    /// <summary>Creates the error; <paramref name="line"/> and <paramref name="column"/> are 1-based, 0 when not about a position.</summary>
    public CaveatException(CaveatErrorKind kind, string message, int line = 0, int column = 0)
        : base(message)
    {
        Kind = kind;
        Line = line;
        Column = column;
    }

    /// <summary>The stage that refused the caveat.</summary>
    public CaveatErrorKind Kind { get; }

    /// <summary>1-based line within the expression text; 0 when the error is not about a position.</summary>
    public int Line { get; }

    /// <summary>1-based column (UTF-16 code units) within <see cref="Line"/>; 0 when the error is not about a position.</summary>
    public int Column { get; }

    internal static CaveatException CompileAt(int line, int column, string message) =>
        new(CaveatErrorKind.Compile, message, line, column);

    internal static CaveatException InvalidContext(string message) => new(CaveatErrorKind.InvalidContext, message);
}
