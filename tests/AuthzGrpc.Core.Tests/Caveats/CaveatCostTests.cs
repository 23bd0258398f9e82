using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Tests.Caveats;

/// <summary>
/// Each evaluation has a budget of 10,000 units: nodes cost 1, macro iterations 1 each, strings 1 per 16 characters and
/// regular expressions 1 per character of input. Exceeding it is an error no partial evaluation can hide.
/// </summary>
public sealed class CaveatCostTests
{
    // About 2,000 elements: the most a 4 KB context can hold.
    private static readonly string BigList = "{\"l\": [" + string.Join(",", Enumerable.Repeat("0", 2000)) + "]}";

    [Fact]
    public void One_macro_over_the_biggest_context_list_fits_the_budget() =>
        Assert.Equal("true", CaveatTestKit.Outcome("l list<int>", "l.all(x, x >= 0)", BigList));

    [Fact]
    public void Nested_macros_over_a_big_context_list_exceed_the_budget()
    {
        var caveat = CaveatTestKit.Compile("l list<int>", "l.all(x, l.all(y, y >= x))");

        var error = Assert.Throws<CaveatException>(() => caveat.Evaluate(CaveatContext.Parse(BigList)));

        Assert.Equal(CaveatErrorKind.CostExceeded, error.Kind);
        Assert.Contains("10000", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("caveat 'test': ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cost_exceeded_is_not_hidden_by_a_missing_operand_but_short_circuit_avoids_it()
    {
        var caveat = CaveatTestKit.Compile("a bool, l list<int>", "a || l.exists(x, l.exists(y, y > x))");
        var big = CaveatContext.Parse(BigList);

        Assert.Equal(CaveatErrorKind.CostExceeded, Assert.Throws<CaveatException>(() => caveat.Evaluate(big)).Kind);
        Assert.Equal(CaveatResult.True, caveat.Evaluate(CaveatContext.Merge(CaveatContext.Parse("{\"a\": true}"), big)));
    }

    [Fact]
    public void Regular_expressions_cost_per_character_of_input()
    {
        var context = CaveatContext.Parse("{\"s\": \"" + new string('a', 4000) + "\"}");
        var one = CaveatTestKit.Compile("s string", "s.matches('b')");
        var three = CaveatTestKit.Compile("s string", "s.matches('b') || s.matches('c') || s.matches('d')");

        Assert.Equal(CaveatResult.False, one.Evaluate(context));
        Assert.Equal(CaveatErrorKind.CostExceeded, Assert.Throws<CaveatException>(() => three.Evaluate(context)).Kind);
    }

    [Fact]
    public void Growing_a_string_pays_for_its_length()
    {
        // Each + copies what it has so far: 4000 + 8000 + ... characters, at 1 unit per 16, passes 10,000 units.
        var expression = "size(" + string.Join(" + ", Enumerable.Repeat("s", 12)) + ") > 0";
        var context = CaveatContext.Parse("{\"s\": \"" + new string('a', 4000) + "\"}");

        Assert.Equal(CaveatErrorKind.CostExceeded, Assert.Throws<CaveatException>(() => CaveatTestKit.Compile("s string", expression).Evaluate(context)).Kind);
    }

    [Fact]
    public void The_budget_is_per_evaluation()
    {
        var caveat = CaveatTestKit.Compile("l list<int>", "l.all(x, x >= 0)");
        var context = CaveatContext.Parse(BigList);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(CaveatResult.True, caveat.Evaluate(context));
        }
    }
}
