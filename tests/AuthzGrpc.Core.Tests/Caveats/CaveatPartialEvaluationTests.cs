using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Tests.Caveats;

/// <summary>
/// Missing parameters give SpiceDB's conditional result, through CEL's commutative logical operators: a decisive operand
/// wins on either side over a missing or errored one, missing beats error, and only the deciding names are reported.
/// </summary>
public sealed class CaveatPartialEvaluationTests
{
    private const string Bools = "a bool, b bool, i int, j int";

    // Context values: a/b are true, false, or left out (missing); "err" stands for an operand that errors (1 / 0 == 1).
    [Theory]
    [InlineData("A && B", "true", "true", "true")]
    [InlineData("A && B", "true", "false", "false")]
    [InlineData("A && B", "false", "true", "false")]
    [InlineData("A && B", "missing", "missing", "missing:a,b")]
    [InlineData("A && B", "missing", "true", "missing:a")]
    [InlineData("A && B", "true", "missing", "missing:b")]
    [InlineData("A && B", "missing", "false", "false")]
    [InlineData("A && B", "false", "missing", "false")]
    [InlineData("A && B", "err", "false", "false")]
    [InlineData("A && B", "false", "err", "false")]
    [InlineData("A && B", "err", "true", "error:Evaluation")]
    [InlineData("A && B", "true", "err", "error:Evaluation")]
    [InlineData("A && B", "err", "missing", "missing:b")]
    [InlineData("A && B", "missing", "err", "missing:a")]
    [InlineData("A && B", "err", "err", "error:Evaluation")]
    [InlineData("A || B", "false", "false", "false")]
    [InlineData("A || B", "true", "false", "true")]
    [InlineData("A || B", "false", "true", "true")]
    [InlineData("A || B", "missing", "missing", "missing:a,b")]
    [InlineData("A || B", "true", "missing", "true")]
    [InlineData("A || B", "missing", "true", "true")]
    [InlineData("A || B", "missing", "false", "missing:a")]
    [InlineData("A || B", "false", "missing", "missing:b")]
    [InlineData("A || B", "err", "true", "true")]
    [InlineData("A || B", "true", "err", "true")]
    [InlineData("A || B", "err", "false", "error:Evaluation")]
    [InlineData("A || B", "false", "err", "error:Evaluation")]
    [InlineData("A || B", "err", "missing", "missing:b")]
    [InlineData("A || B", "missing", "err", "missing:a")]
    [InlineData("!A", "missing", "true", "missing:a")]
    [InlineData("!A", "err", "true", "error:Evaluation")]
    [InlineData("!A", "false", "true", "true")]
    [InlineData("A ? B : false", "missing", "true", "missing:a")]
    [InlineData("A ? B : false", "err", "true", "error:Evaluation")]
    [InlineData("A ? B : false", "true", "missing", "missing:b")]
    [InlineData("A ? B : false", "false", "missing", "false")]
    [InlineData("A ? B : false", "false", "err", "false")]
    [InlineData("A ? false : B", "true", "err", "false")]
    [InlineData("A ? false : B", "false", "err", "error:Evaluation")]
    public void Logical_operators_follow_the_truth_table(string shape, string left, string right, string expected)
    {
        var expression = shape.Replace("A", Operand("a", left), StringComparison.Ordinal).Replace("B", Operand("b", right), StringComparison.Ordinal);
        var context = "{" + string.Join(", ", new[] { Value("a", left), Value("b", right) }.Where(v => v.Length > 0)) + "}";
        Assert.Equal(expected, CaveatTestKit.Outcome(Bools, expression, context));
    }

    private static string Operand(string name, string value) => value == "err" ? "(1 / 0 == 1)" : name;

    private static string Value(string name, string value) => value is "true" or "false" ? $"\"{name}\": {value}" : "";

    [Theory]
    [InlineData("i == 1", "{}", "missing:i")]
    [InlineData("i == 1 && i == 2", "{}", "missing:i")]
    [InlineData("i > 1 || j > 1", "{\"j\": 5}", "true")]
    [InlineData("i > 1 && j > 1", "{\"j\": 0}", "false")]
    [InlineData("i > 1 && j > 1", "{\"j\": 2}", "missing:i")]
    [InlineData("(i > 1 || j > 1) && a", "{}", "missing:a,i,j")]
    [InlineData("(i > 1 || j > 1) && a", "{\"a\": false}", "false")]
    [InlineData("(i > 1 || j > 1) && a", "{\"a\": true, \"i\": 5}", "true")]
    [InlineData("size(s) > 1", "{}", "missing:s")]
    [InlineData("i + j == 2", "{}", "missing:i,j")]
    [InlineData("i + j == 2", "{\"i\": 1}", "missing:j")]
    [InlineData("1 / 0 == i", "{}", "missing:i")]
    [InlineData("[i, j][0] == 1", "{\"i\": 1}", "missing:j")]
    [InlineData("l.exists(e, e == i)", "{\"l\": [1, 2]}", "missing:i")]
    [InlineData("l.exists(e, e == i)", "{\"l\": [1, 2], \"i\": 2}", "true")]
    [InlineData("l.all(e, e > i)", "{\"l\": []}", "true")]
    [InlineData("l.all(e, e > i)", "{}", "missing:l")]
    [InlineData("l.exists(e, e == 1 || e == i)", "{\"l\": [1, 2]}", "true")]
    [InlineData("l.all(e, e == 1 || e == i)", "{\"l\": [3]}", "missing:i")]
    [InlineData("l.all(e, e == 1 && e == i)", "{\"l\": [3]}", "false")]
    [InlineData("l.map(e, e + i) == [2]", "{\"l\": [1]}", "missing:i")]
    [InlineData("has(m.k) || a", "{\"m\": {\"k\": \"v\"}}", "true")]
    [InlineData("has(m.k) || a", "{\"m\": {}}", "missing:a")]
    [InlineData("has(m.k)", "{}", "missing:m")]
    [InlineData("m.k == 'v'", "{}", "missing:m")]
    [InlineData("'k' in m", "{}", "missing:m")]
    [InlineData("{'k': s}.k == 'v'", "{}", "missing:s")]
    [InlineData("(a ? i : j) == 1", "{\"a\": true}", "missing:i")]
    [InlineData("Zed == 1 && a_z == 1 && B == 1", "{}", "missing:B,Zed,a_z")]
    public void Missing_parameters_are_the_deciding_ones_sorted(string expression, string context, string expected) =>
        Assert.Equal(expected, CaveatTestKit.Outcome(Bools + ", s string, l list<int>, m map<string>, Zed int, a_z int, B int", expression, context));

    [Fact]
    public void Missing_result_lists_names_in_ordinal_order_without_duplicates()
    {
        var caveat = CaveatTestKit.Compile("b bool, a bool, C bool", "b && a && C && b");

        var result = caveat.Evaluate(CaveatContext.Empty);

        Assert.Equal(CaveatOutcome.Missing, result.Outcome);
        Assert.Equal(["C", "a", "b"], result.MissingParameters);
        // Callers cannot write through to arrays the compiled caveat shares between evaluations.
        Assert.False(result.MissingParameters is string[]);
        Assert.False(caveat.Evaluate(CaveatContext.Parse("{\"a\": true, \"b\": true}")).MissingParameters is string[]);
    }

    [Fact]
    public void Decided_results_carry_no_missing_names()
    {
        var caveat = CaveatTestKit.Compile("a bool, b bool", "a || b");

        var result = caveat.Evaluate(CaveatContext.Parse("{\"a\": true}"));

        Assert.Equal(CaveatResult.True, result);
        Assert.Empty(result.MissingParameters);
    }
}
