namespace AuthzGrpc.Core.Caveats;

/// <summary>
/// A caveat's expression parsed and type-checked against its parameters, ready to evaluate many times from many threads.
/// </summary>
public sealed class CompiledCaveat
{
    /// <summary>Longest accepted expression, in UTF-16 code units.</summary>
    public const int MaxExpressionLength = 4096;

    /// <summary>Deepest accepted nesting of the expression tree.</summary>
    public const int MaxNesting = Checker.MaxDepth;

    private readonly Node root;
    private readonly int slotCount;

    // Referenced parameters only: evaluation converts just what the expression can read.
    private readonly (int Index, CaveatParameter Parameter, CelValue Missing)[] referenced;

    private CompiledCaveat(string name, IReadOnlyList<CaveatParameter> parameters, string expression, Node root, Checker checker)
    {
        Name = name;
        Parameters = parameters;
        Expression = expression;
        this.root = root;
        slotCount = checker.SlotCount;
        referenced = Enumerable.Range(0, parameters.Count).Where(i => checker.Referenced[i])
            .Select(i => (i, parameters[i], CelValue.Missing([parameters[i].Name]))).ToArray();
        ReferencedParameters = referenced.Select(r => r.Parameter.Name).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The caveat's name in the schema.</summary>
    public string Name { get; }

    /// <summary>The declared parameters, in declaration order.</summary>
    public IReadOnlyList<CaveatParameter> Parameters { get; }

    /// <summary>The expression text as given.</summary>
    public string Expression { get; }

    /// <summary>The parameters the expression reads; a context need give no others.</summary>
    public IReadOnlySet<string> ReferencedParameters { get; }

    /// <summary>
    /// Parses and type-checks <paramref name="expression"/>. Throws <see cref="CaveatException"/> of kind Compile, with the
    /// 1-based line and column within the expression, for a syntax error, an unknown identifier or function, a type
    /// mismatch found statically, a result not of type bool, a duplicate parameter, or the bounds
    /// (<see cref="MaxExpressionLength"/>, <see cref="MaxNesting"/>) exceeded.
    /// </summary>
    public static CompiledCaveat Compile(string name, IReadOnlyList<CaveatParameter> parameters, string expression)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(expression);
        if (expression.Length > MaxExpressionLength)
        {
            var (line, column) = PositionOf(expression, MaxExpressionLength);
            throw CaveatException.CompileAt(line, column, $"caveat '{name}': expression is {expression.Length} characters, over the limit of {MaxExpressionLength}");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var parameter in parameters)
        {
            if (!seen.Add(parameter.Name))
            {
                throw new CaveatException(CaveatErrorKind.Compile, $"caveat '{name}' declares parameter '{parameter.Name}' twice");
            }
        }

        try
        {
            var root = CelParser.Parse(expression);
            var checker = new Checker(parameters);
            checker.Check(root);
            if (!root.Type.IsDynamic && root.Type.Kind != TypeKind.Bool)
            {
                var (line, column) = FirstTokenPosition(expression);
                throw CaveatException.CompileAt(line, column, $"caveat expression must be of type bool, not '{root.Type}'");
            }

            return new CompiledCaveat(name, parameters, expression, root, checker);
        }
        catch (CaveatException error) when (error.Kind == CaveatErrorKind.Compile)
        {
            throw new CaveatException(CaveatErrorKind.Compile, $"caveat '{name}': {error.Message}", error.Line, error.Column);
        }
    }

    /// <summary>
    /// Checks that every value <paramref name="context"/> gives for a parameter of this caveat converts to the
    /// parameter's type, whatever evaluation would need: InvalidContext naming the parameter otherwise. Names the caveat
    /// does not declare are left alone.
    /// </summary>
    public void CheckContext(CaveatContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var parameter in Parameters)
        {
            if (context.TryGetValue(parameter.Name, out var value))
            {
                ContextConversion.Convert(parameter.Name, parameter.Type, value);
            }
        }
    }

    /// <summary>
    /// Evaluates the caveat on <paramref name="context"/> (already merged). Parameters the context lacks make the result
    /// <see cref="CaveatOutcome.Missing"/> when, and only when, their values could still change it. Throws
    /// <see cref="CaveatException"/>: InvalidContext for a value that does not convert to its declared type (checked for
    /// every referenced parameter, decisive or not), Evaluation for a runtime error that decides the result,
    /// CostExceeded when the evaluation needs more than its budget.
    /// </summary>
    public CaveatResult Evaluate(CaveatContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var values = new CelValue[Parameters.Count];
        foreach (var (index, parameter, missing) in referenced)
        {
            values[index] = context.TryGetValue(parameter.Name, out var value)
                ? ContextConversion.Convert(parameter.Name, parameter.Type, value)
                : missing;
        }

        CelValue result;
        try
        {
            result = root.Evaluate(new Evaluation(values, slotCount, Evaluation.Budget));
        }
        catch (CaveatException exceeded) when (exceeded.Kind == CaveatErrorKind.CostExceeded)
        {
            throw new CaveatException(CaveatErrorKind.CostExceeded, $"caveat '{Name}': {exceeded.Message}");
        }

        return result.Kind switch
        {
            ValueKind.Bool => result.AsBool ? CaveatResult.True : CaveatResult.False,
            // Read-only view: the single-name arrays are shared by every evaluation of this caveat.
            ValueKind.Missing => new CaveatResult(CaveatOutcome.Missing, Array.AsReadOnly(result.MissingNames)),
            ValueKind.Error => throw new CaveatException(CaveatErrorKind.Evaluation, $"caveat '{Name}': {result.ErrorMessage}"),
            _ => throw new CaveatException(CaveatErrorKind.Evaluation, $"caveat '{Name}': expression gave a value of type '{result.TypeName}', not bool"),
        };
    }

    private static (int Line, int Column) PositionOf(string text, int offset)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, offset - lineStart + 1);
    }

    private static (int Line, int Column) FirstTokenPosition(string text)
    {
        var offset = 0;
        while (offset < text.Length && char.IsWhiteSpace(text[offset]))
        {
            offset++;
        }

        return PositionOf(text, offset);
    }
}
