using AuthzGrpc.LoadTest.Scenarios;

namespace AuthzGrpc.LoadTest.Tests;

/// <summary>What the harness accepts to run: loopback targets only, and every loop bounded in count and time.</summary>
public sealed class ArgumentTests
{
    [Theory]
    [InlineData("http://127.0.0.1:50051")]
    [InlineData("http://127.0.0.2:50051")]
    [InlineData("http://[::1]:50051")]
    [InlineData("http://localhost:50051")]
    [InlineData("https://LOCALHOST:443/")]
    public void LoopbackTarget_Loopback_IsAccepted(string text)
    {
        Assert.True(LoopbackTarget.TryParse(text, out var target, out var error), error);
        Assert.NotNull(target);
    }

    [Theory]
    [InlineData("http://10.0.0.1:50051", "not a loopback address")]
    [InlineData("http://192.168.1.20:50051", "not a loopback address")]
    [InlineData("http://0.0.0.0:50051", "not a loopback address")]
    [InlineData("http://[::]:50051", "not a loopback address")]
    [InlineData("http://example.com:50051", "not a loopback address")]
    [InlineData("http://localhost.example.com:50051", "not a loopback address")]
    [InlineData("ftp://127.0.0.1:21", "scheme")]
    [InlineData("http://127.0.0.1:50051/authz.v1.AuthorizationService/Check", "only scheme, host and port")]
    [InlineData("http://user:secret@127.0.0.1:50051", "only scheme, host and port")]
    [InlineData("127.0.0.1:50051", "not a URL")]
    [InlineData("", "not a URL")]
    public void LoopbackTarget_Other_IsRefused(string text, string reason)
    {
        Assert.False(LoopbackTarget.TryParse(text, out var target, out var error));
        Assert.Null(target);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void RunSettings_Defaults_HaveNoProblem()
    {
        foreach (var scenario in ScenarioCatalog.Names)
        {
            Assert.Empty((Settings() with { Scenario = scenario }).Problems());
        }
    }

    [Theory]
    [InlineData("concurrency", "--concurrency must be from 1")]
    [InlineData("connections", "--connections must be from 1")]
    [InlineData("more-connections-than-callers", "exceeds --concurrency")]
    [InlineData("no-requests", "--requests must be from 1")]
    [InlineData("too-many-requests", "--requests must be from 1")]
    [InlineData("no-duration", "--duration must be more than 0")]
    [InlineData("too-long", "--duration must be more than 0 and at most 600 seconds")]
    [InlineData("negative-warmup", "--warmup must be from 0")]
    [InlineData("batch", "--batch-size must be from 1 to 1,000")]
    [InlineData("writes", "--writes-per-second must be from 0.1")]
    [InlineData("rate", "--rate must be more than 0")]
    [InlineData("self-check", "--skip-self-check works with --scenario check-hot only")]
    [InlineData("scenario", "--scenario 'check-everything' is not known")]
    [InlineData("orgs", "--orgs must be from 2")]
    public void RunSettings_OutOfBounds_IsAProblem(string what, string expected)
    {
        var settings = what switch
        {
            "concurrency" => Settings() with { Concurrency = 0, Connections = 0 },
            "connections" => Settings() with { Connections = 0 },
            "more-connections-than-callers" => Settings() with { Concurrency = 2, Connections = 3 },
            "no-requests" => Settings() with { Requests = 0 },
            "too-many-requests" => Settings() with { Requests = RunSettings.MaxRequests + 1 },
            "no-duration" => Settings() with { Duration = TimeSpan.Zero },
            "too-long" => Settings() with { Duration = TimeSpan.FromMinutes(11) },
            "negative-warmup" => Settings() with { Warmup = -1 },
            "batch" => Settings() with { BatchSize = 1001 },
            "writes" => Settings() with { WritesPerSecond = 0 },
            "rate" => Settings() with { Rate = 0 },
            "self-check" => Settings() with { Scenario = "check-scattered", SelfCheck = false },
            "scenario" => Settings() with { Scenario = "check-everything" },
            "orgs" => Settings() with { Organizations = 1 },
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        Assert.Contains(settings.Problems(), p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1001")]
    public async Task H2LoadBody_BatchOutOfRange_ExitsTwo_WritingNothing(string size)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var body = Path.Combine(Path.GetTempPath(), $"authz-batch-{Guid.NewGuid():N}.body");

        var exit = await LoadTestCommand.RunAsync(["write-h2load-body", "--out", body, "--batch", size], output, error);

        Assert.Equal(2, exit);
        Assert.Contains("--batch must be 1 to 1000", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(body));
    }

    [Theory]
    [InlineData("run", "--target", "http://10.1.2.3:50051", "--scenario", "check-hot", "--token", "azk_x_y")]
    [InlineData("write-h2load-body", "--out", "/dev/null", "--verify", "http://203.0.113.9:50051", "--token", "azk_x_y")]
    [InlineData("wait-ready", "--target", "http://example.com:50051", "--timeout", "1")]
    public async Task Command_RemoteTarget_ExitsTwoBeforeAnyCall(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await LoadTestCommand.RunAsync(args, output, error);

        Assert.Equal(2, exit);
        Assert.Contains("not a loopback address", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_BadBounds_ExitsTwoWithEveryProblem()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await LoadTestCommand.RunAsync(
            ["run", "--target", "http://127.0.0.1:1", "--scenario", "check-hot", "--token", "azk_x_y", "--requests", "0", "--duration", "0"], output, error);

        Assert.Equal(2, exit);
        Assert.Contains("--requests must be from 1", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("--duration must be more than 0", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ApiToken_Order_IsOptionThenVariableThenFile()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, " azk_file_secret \n");
            string? Variable(string name) => name == ApiToken.Variable ? "azk_env_secret" : null;

            Assert.Equal("azk_opt_secret", ApiToken.Resolve("azk_opt_secret", file, Variable, out _));
            Assert.Equal("azk_env_secret", ApiToken.Resolve(null, file, Variable, out _));
            Assert.Equal("azk_file_secret", ApiToken.Resolve(null, file, _ => null, out _));
            Assert.Null(ApiToken.Resolve(null, file + ".missing", _ => null, out var error));
            Assert.Contains("no API key", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ApiToken_Mask_KeepsOnlyTheId()
    {
        var masked = ApiToken.Mask("h2load -H 'authorization: Bearer azk_ab12_Secret-With_Underscores' -d body");

        Assert.Equal("h2load -H 'authorization: Bearer azk_ab12_…' -d body", masked);
    }

    private static RunSettings Settings() => new() { Target = new Uri("http://127.0.0.1:50051"), Scenario = ScenarioCatalog.CheckHot };
}
