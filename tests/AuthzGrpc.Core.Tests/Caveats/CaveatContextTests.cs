using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Tests.Caveats;

/// <summary>Context values convert to declared types as SpiceDB converts them, or are refused naming both types; contexts are bounded; merging lets the relationship win.</summary>
public sealed class CaveatContextTests
{
    [Theory]
    [InlineData("i int", "i == 5", "{\"i\": 5}", "true")]
    [InlineData("i int", "i == 5", "{\"i\": 5.0}", "true")]
    [InlineData("i int", "i == 5", "{\"i\": 5.5}", "error:InvalidContext")]
    [InlineData("i int", "i == 5", "{\"i\": \"5\"}", "error:InvalidContext")]
    [InlineData("i int", "i == 5", "{\"i\": 1e19}", "error:InvalidContext")]
    [InlineData("i int", "i == 5", "{\"i\": null}", "error:InvalidContext")]
    [InlineData("i int", "i == -9223372036854775808", "{\"i\": -9223372036854775808}", "true")]
    [InlineData("u uint", "u == 3u", "{\"u\": 3}", "true")]
    [InlineData("u uint", "u == 3u", "{\"u\": -1}", "error:InvalidContext")]
    [InlineData("u uint", "u == 3u", "{\"u\": 3.5}", "error:InvalidContext")]
    [InlineData("d double", "d == 1.0", "{\"d\": 1}", "true")]
    [InlineData("d double", "d == 1.5", "{\"d\": 1.5}", "true")]
    [InlineData("d double", "d == 1.5", "{\"d\": \"1.5\"}", "error:InvalidContext")]
    [InlineData("b bool", "b", "{\"b\": true}", "true")]
    [InlineData("b bool", "b", "{\"b\": \"true\"}", "error:InvalidContext")]
    [InlineData("s string", "s == 'x'", "{\"s\": \"x\"}", "true")]
    [InlineData("s string", "s == 'x'", "{\"s\": 1}", "error:InvalidContext")]
    [InlineData("by bytes", "by == b'hi'", "{\"by\": \"aGk=\"}", "true")]
    [InlineData("by bytes", "by == b'hi'", "{\"by\": \"aGk\"}", "true")]
    [InlineData("by bytes", "by == b'hi'", "{\"by\": \"!!\"}", "error:InvalidContext")]
    [InlineData("du duration", "du == duration('90m')", "{\"du\": \"1h30m\"}", "true")]
    [InlineData("du duration", "du == duration('90m')", "{\"du\": \"1.5h\"}", "true")]
    [InlineData("du duration", "du.getSeconds() == 10", "{\"du\": \"10s\"}", "true")]
    [InlineData("du duration", "du.getMilliseconds() == 300", "{\"du\": \"300ms\"}", "true")]
    [InlineData("du duration", "du.getMilliseconds() == 1", "{\"du\": \"1000us\"}", "true")]
    [InlineData("du duration", "du < duration('0')", "{\"du\": \"-2m\"}", "true")]
    [InlineData("du duration", "du == duration('0')", "{\"du\": \"0\"}", "true")]
    [InlineData("du duration", "du == duration('10s')", "{\"du\": \"10\"}", "error:InvalidContext")]
    [InlineData("du duration", "du == duration('10s')", "{\"du\": 10}", "error:InvalidContext")]
    [InlineData("du duration", "du == duration('10s')", "{\"du\": \"10d\"}", "error:InvalidContext")]
    [InlineData("du duration", "du == duration('10s')", "{\"du\": \"3000000h\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-01-01T00:00:00Z\"}", "true")]
    [InlineData("t timestamp", "t.getHours() == 23", "{\"t\": \"2024-01-01T00:30:00+01:00\"}", "true")]
    [InlineData("t timestamp", "t.getMilliseconds() == 123", "{\"t\": \"2024-01-01T00:00:00.123456789Z\"}", "true")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-01-01\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-02-30T00:00:00Z\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": 1704067200}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getHours() == 10", "{\"t\": \"2024-01-01t10:00:00z\"}", "true")]
    [InlineData("t timestamp", "t.getDayOfYear() == 59", "{\"t\": \"2024-02-29T00:00:00Z\"}", "true")]
    [InlineData("t timestamp", "t.getFullYear() == 2023", "{\"t\": \"2023-02-29T00:00:00Z\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-01-01T24:00:00Z\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-01-01T00:00:00.Z\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-01-01T00:00:00.1234567891Z\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-01-01T00:00:00+0100\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 2024", "{\"t\": \"2024-01-01T00:00:00\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 1", "{\"t\": \"0000-01-01T00:00:00Z\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 1", "{\"t\": \"0001-01-01T00:00:00+01:00\"}", "error:InvalidContext")]
    [InlineData("t timestamp", "t.getFullYear() == 9999", "{\"t\": \"9999-12-31T23:59:59.9999999Z\"}", "true")]
    [InlineData("ip ipaddress", "ip.in_cidr('10.0.0.0/8')", "{\"ip\": \"10.0.0.1\"}", "true")]
    [InlineData("ip ipaddress", "ip.in_cidr('::1/128')", "{\"ip\": \"::1\"}", "true")]
    [InlineData("ip ipaddress", "ip.in_cidr('10.0.0.0/8')", "{\"ip\": \"10.0.0\"}", "error:InvalidContext")]
    [InlineData("ip ipaddress", "ip.in_cidr('10.0.0.0/8')", "{\"ip\": \"010.0.0.1\"}", "error:InvalidContext")]
    [InlineData("ip ipaddress", "ip.in_cidr('10.0.0.0/8')", "{\"ip\": \"fe80::1%eth0\"}", "error:InvalidContext")]
    [InlineData("l list<int>", "l == [1, 2]", "{\"l\": [1, 2]}", "true")]
    [InlineData("l list<int>", "l == [1, 2]", "{\"l\": [1, \"a\"]}", "error:InvalidContext")]
    [InlineData("l list<int>", "l == [1, 2]", "{\"l\": 1}", "error:InvalidContext")]
    [InlineData("l list<list<string>>", "l[1][0] == 'b'", "{\"l\": [[\"a\"], [\"b\"]]}", "true")]
    [InlineData("m map<string>", "m.a == 'b'", "{\"m\": {\"a\": \"b\"}}", "true")]
    [InlineData("m map<string>", "m.a == 'b'", "{\"m\": {\"a\": 1}}", "error:InvalidContext")]
    [InlineData("m map<string>", "m.a == 'b'", "{\"m\": [\"a\"]}", "error:InvalidContext")]
    [InlineData("m map<timestamp>", "m.start.getFullYear() == 2024", "{\"m\": {\"start\": \"2024-05-01T00:00:00Z\"}}", "true")]
    [InlineData("x any", "x == 'free'", "{\"x\": \"free\"}", "true")]
    // Only referenced parameters are converted: a bad value for one the expression never reads is not an error.
    [InlineData("i int, s string", "s == 'x'", "{\"i\": \"not an int\", \"s\": \"x\"}", "true")]
    public void Context_values_convert_to_declared_types(string parameters, string expression, string context, string expected) =>
        Assert.Equal(expected, CaveatTestKit.Outcome(parameters, expression, context));

    [Fact]
    public void Refused_conversion_names_the_parameter_and_both_types()
    {
        var caveat = CaveatTestKit.Compile("limit int", "limit > 1");

        var error = Assert.Throws<CaveatException>(() => caveat.Evaluate(CaveatContext.Parse("{\"limit\": 1.5}")));

        Assert.Equal(CaveatErrorKind.InvalidContext, error.Kind);
        Assert.Contains("'limit'", error.Message, StringComparison.Ordinal);
        Assert.Contains("number", error.Message, StringComparison.Ordinal);
        Assert.Contains("int", error.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("1")]
    [InlineData("null")]
    [InlineData("\"text\"")]
    [InlineData("{")]
    [InlineData("{\"a\": 1,}")]
    [InlineData("")]
    [InlineData("{\"a\": 1, \"a\": 2}")]
    public void Parse_refuses_what_is_not_one_JSON_object(string json)
    {
        var error = Assert.Throws<CaveatException>(() => CaveatContext.Parse(json));
        Assert.Equal(CaveatErrorKind.InvalidContext, error.Kind);
    }

    [Fact]
    public void Parse_bounds_size_in_UTF8_bytes()
    {
        var fits = "{\"a\": \"" + new string('x', CaveatContext.MaxBytes - 9) + "\"}";
        // 'é' is two bytes of UTF-8 but one UTF-16 unit: the limit counts bytes.
        var overByBytes = "{\"a\": \"" + new string('é', (CaveatContext.MaxBytes / 2) - 2) + "\"}";

        Assert.Equal(CaveatContext.MaxBytes, System.Text.Encoding.UTF8.GetByteCount(fits));
        Assert.Equal(["a"], CaveatContext.Parse(fits).Names);
        Assert.True(overByBytes.Length < CaveatContext.MaxBytes);
        Assert.Equal(CaveatErrorKind.InvalidContext, Assert.Throws<CaveatException>(() => CaveatContext.Parse(overByBytes)).Kind);
        Assert.Equal(CaveatErrorKind.InvalidContext, Assert.Throws<CaveatException>(() => CaveatContext.Parse(fits.Replace("\"a\"", "\"ab\"", StringComparison.Ordinal))).Kind);
    }

    [Fact]
    public void Parse_bounds_nesting_to_16_levels_counting_the_top_object()
    {
        static string Nested(int arrays) => "{\"a\": " + new string('[', arrays) + new string(']', arrays) + "}";

        Assert.Equal(["a"], CaveatContext.Parse(Nested(CaveatContext.MaxDepth - 1)).Names);
        var error = Assert.Throws<CaveatException>(() => CaveatContext.Parse(Nested(CaveatContext.MaxDepth)));
        Assert.Equal(CaveatErrorKind.InvalidContext, error.Kind);
        Assert.Equal(CaveatErrorKind.InvalidContext, Assert.Throws<CaveatException>(() => CaveatContext.Parse(Nested(200))).Kind);
    }

    [Fact]
    public void ToJson_is_canonical_and_round_trips()
    {
        var context = CaveatContext.Parse("{ \"b\": 1, \"a\": [true, null, 1.5, 2.0, \"x\\\"y\"], \"c\": {\"z\": 1, \"y\": -2} }");

        var json = context.ToJson();

        Assert.Equal("{\"a\":[true,null,1.5,2.0,\"x\\u0022y\"],\"b\":1,\"c\":{\"y\":-2,\"z\":1}}", json);
        Assert.Equal(json, CaveatContext.Parse(json).ToJson());
        Assert.Equal(["a", "b", "c"], context.Names);
        Assert.False(context.IsEmpty);
    }

    [Fact]
    public void Empty_context_has_no_names()
    {
        Assert.True(CaveatContext.Empty.IsEmpty);
        Assert.Empty(CaveatContext.Empty.Names);
        Assert.Equal("{}", CaveatContext.Empty.ToJson());
        Assert.True(CaveatContext.Parse("{}").IsEmpty);
    }

    [Fact]
    public void FromValues_accepts_the_listed_kinds_and_matches_Parse()
    {
        var values = new Dictionary<string, object?>
        {
            ["n"] = null,
            ["flag"] = true,
            ["count"] = 3L,
            ["small"] = 4,
            ["ratio"] = 0.5,
            ["name"] = "x",
            ["list"] = new object?[] { 1L, "two" },
            ["map"] = new Dictionary<string, object?> { ["k"] = 2.0 },
        };

        var context = CaveatContext.FromValues(values);

        Assert.Equal(
            "{\"count\":3,\"flag\":true,\"list\":[1,\"two\"],\"map\":{\"k\":2.0},\"n\":null,\"name\":\"x\",\"ratio\":0.5,\"small\":4}",
            context.ToJson());
        Assert.Equal(context.ToJson(), CaveatContext.Parse(context.ToJson()).ToJson());
        var caveat = CaveatTestKit.Compile("count int, small int, ratio double, map map<double>, list list<any>", "count + small == 7 && ratio * 2.0 == 1.0 && map.k == 2.0 && list[1] == 'two'");
        Assert.Equal(CaveatResult.True, caveat.Evaluate(context));
    }

    [Fact]
    public void FromValues_refuses_other_kinds_non_finite_numbers_and_the_limits()
    {
        static CaveatErrorKind Refused(object? value) =>
            Assert.Throws<CaveatException>(() => CaveatContext.FromValues(new Dictionary<string, object?> { ["v"] = value })).Kind;

        Assert.Equal(CaveatErrorKind.InvalidContext, Refused(DateTime.UnixEpoch));
        Assert.Equal(CaveatErrorKind.InvalidContext, Refused(double.NaN));
        Assert.Equal(CaveatErrorKind.InvalidContext, Refused(double.PositiveInfinity));
        Assert.Equal(CaveatErrorKind.InvalidContext, Refused(new string('x', CaveatContext.MaxBytes)));
        object? deep = 1L;
        for (var i = 0; i < CaveatContext.MaxDepth; i++)
        {
            deep = new object?[] { deep };
        }

        Assert.Equal(CaveatErrorKind.InvalidContext, Refused(deep));
    }

    [Fact]
    public void Merge_keeps_every_name_and_the_relationship_wins()
    {
        var relationship = CaveatContext.Parse("{\"a\": 1, \"b\": 2}");
        var request = CaveatContext.Parse("{\"b\": 3, \"c\": 4}");

        var merged = CaveatContext.Merge(relationship, request);

        Assert.Equal("{\"a\":1,\"b\":2,\"c\":4}", merged.ToJson());
        Assert.Equal(CaveatResult.True, CaveatTestKit.Compile("a int, b int, c int", "a == 1 && b == 2 && c == 4").Evaluate(merged));
        Assert.Same(relationship, CaveatContext.Merge(relationship, CaveatContext.Empty));
        Assert.Same(request, CaveatContext.Merge(CaveatContext.Empty, request));
    }
}
