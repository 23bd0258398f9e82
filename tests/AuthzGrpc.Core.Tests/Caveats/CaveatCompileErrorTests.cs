using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Tests.Caveats;

/// <summary>Compile errors carry the 1-based line and column within the expression, and say what is wrong.</summary>
public sealed class CaveatCompileErrorTests
{
    [Theory]
    [InlineData("a ==", 1, 5, "syntax error")]
    [InlineData("a &&\n  nope", 2, 3, "undeclared reference to 'nope'")]
    [InlineData("a &&\n  a.foo(1)", 2, 5, "undeclared reference to function 'foo'")]
    [InlineData("foo(1)", 1, 1, "undeclared reference to function 'foo'")]
    [InlineData("foo() == 1", 1, 1, "undeclared reference to function 'foo'")]
    [InlineData("size() == 1", 1, 1, "no matching overload for 'size' applied to ()")]
    [InlineData("'1'.int() == 1", 1, 5, "no matching overload for string.int()")]
    [InlineData("i + 1.0 == 2.0", 1, 3, "no matching overload")]
    [InlineData("u + 1 == 2u", 1, 3, "no matching overload")]
    [InlineData("-1u == 1u", 1, 1, "unary -")]
    [InlineData("1 + 1", 1, 1, "must be of type bool")]
    [InlineData("\n  i", 2, 3, "must be of type bool, not 'int'")]
    [InlineData("'abc'.matches('(')", 1, 15, "regular expression")]
    [InlineData("'unterminated", 1, 1, "unterminated string")]
    [InlineData("'line\nbreak'", 1, 1, "newline in string")]
    [InlineData("'\\q' == 'a'", 1, 2, "invalid escape")]
    [InlineData("1 +\n\n   @", 3, 4, "unexpected character '@'")]
    [InlineData("i +\n", 2, 1, "syntax error")]
    [InlineData("[1, 2].all(1, true)", 1, 8, "'all' takes 2 arguments")]
    [InlineData("l.all(e, e)", 1, 10, "predicate of 'all' must be bool")]
    [InlineData("s.contains(1)", 1, 3, "no matching overload")]
    [InlineData("contains(s, 'a')", 1, 1, "no matching overload")]
    [InlineData("i == 'a'", 1, 3, "'=='")]
    [InlineData("s < 1", 1, 3, "'<'")]
    [InlineData("i && a", 1, 3, "'&&'")]
    [InlineData("1 + 1 == 2 &&\n\t!i", 2, 2, "'!'")]
    [InlineData("i.size() == 1", 1, 3, "no matching overload")]
    [InlineData("true ? 1 : 'a'", 1, 6, "different types")]
    [InlineData("(i ? 1 : 2) == 1", 1, 2, "condition of '?:' must be bool")]
    [InlineData("{1: 2}.size() == 1", 1, 2, "map keys must be strings")]
    [InlineData("m.k.z == 'v'", 1, 5, "does not support field selection")]
    [InlineData("i[0] == 1", 1, 2, "index")]
    [InlineData("l['a'] == 1", 1, 2, "index")]
    [InlineData("'a' in 1", 1, 5, "'in'")]
    [InlineData("'a' in l", 1, 5, "'in'")]
    [InlineData("t - 1 == t", 1, 3, "no matching overload")]
    [InlineData("9223372036854775808 == 1", 1, 1, "out of range")]
    [InlineData("if == 1", 1, 1, "reserved")]
    [InlineData("has(a)", 1, 1, "has()")]
    [InlineData("a b", 1, 3, "expected end of expression")]
    [InlineData("f(", 1, 3, "syntax error")]
    [InlineData("[1, 2", 1, 6, "syntax error")]
    public void Compile_error_is_reported_at_its_position(string expression, int line, int column, string fragment)
    {
        var error = CaveatTestKit.CompileError(CaveatTestKit.StandardParameters, expression);

        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("caveat 'test': ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Literal_pattern_over_256_characters_is_refused_at_compile_time()
    {
        var longest = "s.matches('" + new string('a', 256) + "')";
        Assert.Equal(CaveatResult.True, CaveatTestKit.Compile("s string", longest).Evaluate(CaveatContext.Parse("{\"s\": \"" + new string('a', 256) + "\"}")));

        var error = CaveatTestKit.CompileError("s string", "s.matches('" + new string('a', 257) + "')");

        Assert.Contains("over the limit of 256", error.Message, StringComparison.Ordinal);
        Assert.Equal((1, 11), (error.Line, error.Column));
    }

    [Fact]
    public void Expression_over_4096_characters_is_refused()
    {
        var longest = "true" + string.Concat(Enumerable.Repeat(" || true", (CompiledCaveat.MaxExpressionLength - 4) / 8));
        var padded = longest + new string(' ', CompiledCaveat.MaxExpressionLength - longest.Length);
        Assert.Equal(CompiledCaveat.MaxExpressionLength, padded.Length);
        Assert.Equal(CaveatResult.True, CompiledCaveat.Compile("long", [], padded).Evaluate(CaveatContext.Empty));

        var error = CaveatTestKit.CompileError("", padded + " ");

        Assert.Contains("over the limit of 4096", error.Message, StringComparison.Ordinal);
        Assert.Equal((1, CompiledCaveat.MaxExpressionLength + 1), (error.Line, error.Column));
    }

    [Fact]
    public void Nesting_deeper_than_32_is_refused_but_long_logical_chains_are_balanced()
    {
        static string Parenthesized(int depth) => new string('(', depth) + "true" + new string(')', depth);

        Assert.Equal(CaveatResult.True, CaveatTestKit.Compile("", Parenthesized(CompiledCaveat.MaxNesting - 1)).Evaluate(CaveatContext.Empty));
        Assert.Contains("nests deeper than 32", CaveatTestKit.CompileError("", Parenthesized(CompiledCaveat.MaxNesting)).Message, StringComparison.Ordinal);
        Assert.Contains("nests deeper than 32", CaveatTestKit.CompileError("", Parenthesized(1000)).Message, StringComparison.Ordinal);

        var sum = "1" + string.Concat(Enumerable.Repeat(" + 1", 40)) + " == 41";
        Assert.Contains("nests deeper than 32", CaveatTestKit.CompileError("", sum).Message, StringComparison.Ordinal);
        var lists = new string('[', 40) + new string(']', 40) + " == []";
        Assert.Equal(CaveatErrorKind.Compile, CaveatTestKit.CompileError("", lists).Kind);

        var chain = string.Join(" && ", Enumerable.Repeat("a", 200));
        Assert.Equal(CaveatResult.True, CaveatTestKit.Compile("a bool", chain).Evaluate(CaveatContext.Parse("{\"a\": true}")));
    }

    [Fact]
    public void Duplicate_parameter_is_refused()
    {
        var error = CaveatTestKit.CompileError("a int, a string", "a == 1");

        Assert.Contains("'a' twice", error.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("int", "int")]
    [InlineData("uint", "uint")]
    [InlineData("double", "double")]
    [InlineData("bool", "bool")]
    [InlineData("string", "string")]
    [InlineData("bytes", "bytes")]
    [InlineData("duration", "duration")]
    [InlineData("timestamp", "timestamp")]
    [InlineData("ipaddress", "ipaddress")]
    [InlineData("any", "any")]
    [InlineData("list<int>", "list<int>")]
    [InlineData(" map < list<string> > ", "map<list<string>>")]
    public void Types_parse_and_print_as_schemas_write_them(string text, string printed)
    {
        var type = CaveatType.Parse(text);

        Assert.Equal(printed, type.ToString());
        Assert.Equal(type, CaveatType.Parse(printed));
    }

    [Fact]
    public void Type_parse_from_name_and_arguments()
    {
        Assert.Equal(CaveatType.List(CaveatType.Int), CaveatType.Parse("list", [CaveatType.Int]));
        Assert.Equal(CaveatType.Map(CaveatType.List(CaveatType.String)), CaveatType.Parse("map", [CaveatType.List(CaveatType.String)]));
        Assert.Same(CaveatType.IpAddress, CaveatType.Parse("ipaddress", []));
        Assert.Equal(CaveatType.Int, CaveatType.List(CaveatType.Int).ElementType);
        Assert.NotEqual(CaveatType.List(CaveatType.Int), CaveatType.List(CaveatType.UInt));
    }

    [Theory]
    [InlineData("float", 0, "unknown caveat type 'float'")]
    [InlineData("list", 0, "exactly one type argument")]
    [InlineData("map", 2, "exactly one type argument")]
    [InlineData("int", 1, "takes no type arguments")]
    public void Type_parse_refuses_unknown_names_and_wrong_arity(string name, int arity, string fragment)
    {
        var error = Assert.Throws<CaveatException>(() => CaveatType.Parse(name, Enumerable.Repeat(CaveatType.Int, arity).ToArray()));

        Assert.Equal(CaveatErrorKind.Compile, error.Kind);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        if (fragment.StartsWith("unknown", StringComparison.Ordinal))
        {
            Assert.Contains("known types: any, bool, bytes, double, duration, int, ipaddress, list<T>, map<T>, string, timestamp, uint", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Referenced_parameters_are_those_the_expression_reads()
    {
        var caveat = CaveatTestKit.Compile("a int, b int, c int, l list<int>", "a > 1 && l.all(b, b > c)");

        Assert.Equal(new HashSet<string>(["a", "c", "l"]), caveat.ReferencedParameters.ToHashSet());
        Assert.Equal("test", caveat.Name);
        Assert.Equal("a > 1 && l.all(b, b > c)", caveat.Expression);
        Assert.Equal(["a", "b", "c", "l"], caveat.Parameters.Select(p => p.Name));
    }
}
