using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Tests.Caveats;

/// <summary>The caveats of SpiceDB's documentation, evaluated as SpiceDB answers them, plus concurrent use of one compiled caveat.</summary>
public sealed class CaveatSpiceDbExampleTests
{
    private static readonly CompiledCaveat HasValidIp = CompiledCaveat.Compile(
        "has_valid_ip",
        [new("user_ip", CaveatType.IpAddress), new("allowed_range", CaveatType.String)],
        "user_ip.in_cidr(allowed_range)");

    [Theory]
    [InlineData("{\"user_ip\": \"192.168.1.10\", \"allowed_range\": \"192.168.0.0/16\"}", "true")]
    [InlineData("{\"user_ip\": \"10.0.0.1\", \"allowed_range\": \"192.168.0.0/16\"}", "false")]
    [InlineData("{\"user_ip\": \"10.0.0.1\"}", "missing:allowed_range")]
    [InlineData("{}", "missing:allowed_range,user_ip")]
    public void Has_valid_ip(string context, string expected) =>
        Assert.Equal(expected, CaveatTestKit.Describe(HasValidIp.Evaluate(CaveatContext.Parse(context))));

    [Fact]
    public void Has_valid_ip_with_the_range_written_on_the_relationship_and_the_address_in_the_request()
    {
        var relationship = CaveatContext.Parse("{\"allowed_range\": \"10.0.0.0/8\"}");
        var honest = CaveatContext.Parse("{\"user_ip\": \"10.1.1.1\"}");
        // The request cannot widen the range that was written with the relationship.
        var widening = CaveatContext.Parse("{\"user_ip\": \"192.168.1.1\", \"allowed_range\": \"0.0.0.0/0\"}");

        Assert.Equal(CaveatResult.True, HasValidIp.Evaluate(CaveatContext.Merge(relationship, honest)));
        Assert.Equal(CaveatResult.False, HasValidIp.Evaluate(CaveatContext.Merge(relationship, widening)));
        Assert.Equal(CaveatOutcome.Missing, HasValidIp.Evaluate(relationship).Outcome);
    }

    [Theory]
    [InlineData("{\"today\": \"tuesday\"}", "true")]
    [InlineData("{\"today\": \"wednesday\"}", "false")]
    [InlineData("{}", "missing:today")]
    public void Is_tuesday(string context, string expected) =>
        Assert.Equal(expected, CaveatTestKit.Outcome("today string", "today == 'tuesday'", context));

    [Theory]
    [InlineData("{\"first_parameter\": 42, \"second_parameter\": \"hello world\"}", "true")]
    [InlineData("{\"first_parameter\": 42}", "missing:second_parameter")]
    [InlineData("{\"first_parameter\": 41}", "false")]
    [InlineData("{\"second_parameter\": \"hello world\"}", "missing:first_parameter")]
    [InlineData("{\"second_parameter\": \"bye\"}", "false")]
    [InlineData("{\"first_parameter\": \"42\"}", "error:InvalidContext")]
    public void First_caveat(string context, string expected) =>
        Assert.Equal(expected, CaveatTestKit.Outcome(
            "first_parameter int, second_parameter string",
            "first_parameter == 42 && second_parameter == \"hello world\"",
            context));

    [Theory]
    [InlineData("\"2024-06-01T10:00:00Z\"", "true")]
    [InlineData("\"2024-06-01T09:59:59Z\"", "false")]
    [InlineData("\"2024-06-01T11:00:00Z\"", "false")]
    [InlineData("\"2024-06-01T12:30:00+02:00\"", "true")]
    public void Time_window(string now, string expected) =>
        Assert.Equal(expected, CaveatTestKit.Outcome(
            "now timestamp, granted_at timestamp, window duration",
            """
            now >= granted_at &&
              now < granted_at + window
            """,
            "{\"now\": " + now + ", \"granted_at\": \"2024-06-01T10:00:00Z\", \"window\": \"1h\"}"));

    [Theory]
    [InlineData("{\"expected\": {\"team\": [\"a\"]}, \"provided\": {\"team\": [\"a\"]}}", "true")]
    [InlineData("{\"expected\": {\"team\": [\"a\"]}, \"provided\": {\"team\": [\"b\"]}}", "false")]
    [InlineData("{\"expected\": {\"team\": [\"a\"]}, \"provided\": {}}", "error:Evaluation")]
    [InlineData("{\"expected\": {\"team\": [\"a\"]}}", "missing:provided")]
    public void Attributes_match(string context, string expected) =>
        Assert.Equal(expected, CaveatTestKit.Outcome(
            "expected map<any>, provided map<list<string>>",
            "expected.all(x, expected[x] == provided[x]) && {\"}\": '{'}.size() == 1 // a } in a comment",
            context));

    [Fact]
    public void One_compiled_caveat_evaluates_from_many_threads()
    {
        var caveat = CaveatTestKit.Compile(
            "allowed list<int>, user int, name string, at timestamp",
            "allowed.exists(a, a == user) && name.matches('^user-[0-9]+$') && at.getHours() < 12 && [1, 2].map(x, x * user).size() == 2");
        var contexts = Enumerable.Range(0, 64).Select(i => (
            Context: CaveatContext.Parse($$"""{"allowed": [1, 3, 5, 7], "user": {{i % 8}}, "name": "user-{{i}}", "at": "2024-01-01T{{i % 24:D2}}:00:00Z"}"""),
            Expected: i % 8 is 1 or 3 or 5 or 7 && i % 24 < 12)).ToArray();
        var missing = CaveatContext.Parse("{\"allowed\": [1], \"name\": \"user-1\", \"at\": \"2024-01-01T01:00:00Z\"}");
        var failures = 0;

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            for (var round = 0; round < 200; round++)
            {
                var (context, expected) = contexts[(worker + round) % contexts.Length];
                if (caveat.Evaluate(context) != (expected ? CaveatResult.True : CaveatResult.False)
                    || caveat.Evaluate(missing).MissingParameters is not ["user"])
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        Assert.Equal(0, failures);
    }
}
