using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Tests.Caveats;

/// <summary>Compact notation for table-driven caveat tests: parameters as a schema writes them, outcomes as short strings.</summary>
internal static class CaveatTestKit
{
    /// <summary>Parameters of most operator tests, so a row names only its expression and context.</summary>
    public const string StandardParameters =
        "i int, j int, u uint, d double, s string, a bool, b bool, by bytes, l list<int>, ls list<string>, m map<string>, "
        + "t timestamp, du duration, ip ipaddress, x any";

    /// <summary>"a int, b list&lt;string&gt;" to parameters (types take one argument, so commas split parameters).</summary>
    public static IReadOnlyList<CaveatParameter> Parameters(string declarations) =>
        declarations.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(declaration => declaration.Split(' ', 2, StringSplitOptions.TrimEntries))
            .Select(parts => new CaveatParameter(parts[0], CaveatType.Parse(parts[1])))
            .ToArray();

    public static CompiledCaveat Compile(string parameters, string expression) =>
        CompiledCaveat.Compile("test", Parameters(parameters), expression);

    /// <summary>"true", "false", "missing:a,b", or "error:Kind" for any <see cref="CaveatException"/>.</summary>
    public static string Outcome(string parameters, string expression, string context = "{}")
    {
        try
        {
            return Describe(Compile(parameters, expression).Evaluate(CaveatContext.Parse(context)));
        }
        catch (CaveatException error)
        {
            return "error:" + error.Kind;
        }
    }

    public static string Describe(CaveatResult result) => result.Outcome switch
    {
        CaveatOutcome.True => "true",
        CaveatOutcome.False => "false",
        _ => "missing:" + string.Join(",", result.MissingParameters),
    };

    public static CaveatException CompileError(string parameters, string expression)
    {
        var error = Assert.Throws<CaveatException>(() => Compile(parameters, expression));
        Assert.Equal(CaveatErrorKind.Compile, error.Kind);
        return error;
    }
}
