using AuthzGrpc.LoadTest.Scenarios;
using AuthzGrpc.Testing;

namespace AuthzGrpc.LoadTest.Tests;

/// <summary>One real server process seeded with a small data set of the generator, shared by <see cref="EndToEndTests"/>.</summary>
public sealed class SeededServer : IAsyncLifetime
{
    /// <summary>The smallest data set: two organizations, about 2,900 relationships.</summary>
    public const int Organizations = 2;

    private readonly string _seedFile = Path.Combine(Path.GetTempPath(), $"authz-loadtest-{Guid.NewGuid():N}.relationships");

    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        SeedFile.Write(Organizations, _seedFile);
        Server = await ServerProcess.StartAsync($"--Authz:RelationshipsFile={_seedFile}");
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        File.Delete(_seedFile);
    }
}

/// <summary>The harness against a real server on loopback: every scenario runs clean, and a wrong setup stops it early.</summary>
public sealed class EndToEndTests(SeededServer seeded) : IClassFixture<SeededServer>
{
    public static TheoryData<string> Scenarios => [.. ScenarioCatalog.Names];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Scenario_SmallRun_IsCleanAndCountsEveryCall(string scenario)
    {
        var summary = await new LoadRunner(Settings(scenario), TextWriter.Null).RunAsync(seeded.Server.Key!, CancellationToken.None);

        Assert.True(summary.Clean, $"errors: {ErrorCounts.Describe(summary.Errors)}, wrong answers: {summary.WrongAnswers}, writes: {summary.Writes}, consistency: {summary.Consistency}");
        Assert.Equal(200, summary.Calls);
        Assert.Equal(200, summary.Latency.Count);
        Assert.Equal(scenario == ScenarioCatalog.BatchCheck ? 2000 : 200, summary.Checks);
        Assert.Equal(scenario is ScenarioCatalog.CheckWithWrites or ScenarioCatalog.AtLeast, summary.Writes is not null);
        if (scenario == ScenarioCatalog.AtLeast)
        {
            // Every fourth call of the warm-up (20) and of the measured phase (200).
            Assert.Equal(5 + 50, summary.Consistency!.ProbeChecks);
        }
    }

    [Fact]
    public async Task OpenLoop_SmallRun_IsCleanAndCountsEveryCall()
    {
        var settings = Settings(ScenarioCatalog.CheckScattered) with { Rate = 2000 };

        var summary = await new LoadRunner(settings, TextWriter.Null).RunAsync(seeded.Server.Key!, CancellationToken.None);

        Assert.True(summary.Clean, $"errors: {ErrorCounts.Describe(summary.Errors)}, wrong answers: {summary.WrongAnswers}");
        Assert.Equal(200, summary.Calls);
        Assert.Equal(200, summary.Latency.Count);
        Assert.Equal(2000, summary.Settings.Rate);
    }

    [Fact]
    public async Task OtherDataSet_StopsAtTheSelfCheck()
    {
        var settings = Settings(ScenarioCatalog.CheckHot) with { Organizations = SeededServer.Organizations + 2 };

        var e = await Assert.ThrowsAsync<HarnessException>(() => new LoadRunner(settings, TextWriter.Null).RunAsync(seeded.Server.Key!, CancellationToken.None));

        Assert.Contains("does not hold the data set of 4 organizations", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusedKey_StopsAtTheSelfCheck()
    {
        var e = await Assert.ThrowsAsync<HarnessException>(() =>
            new LoadRunner(Settings(ScenarioCatalog.CheckHot), TextWriter.Null).RunAsync("azk_nosuchkey_" + new string('x', 32), CancellationToken.None));

        Assert.Contains("refused the API key (Unauthenticated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task H2LoadBody_IsAnsweredAllowed_AndWaitReadySeesTheServer()
    {
        var body = Path.GetTempFileName();
        var response = Path.GetTempFileName();
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var target = seeded.Server.Address.ToString();

            var wrote = await LoadTestCommand.RunAsync(
                ["write-h2load-body", "--orgs", "2", "--out", body, "--verify", target, "--token", seeded.Server.Key!, "--response-out", response], output, error);
            var ready = await LoadTestCommand.RunAsync(["wait-ready", "--target", target, "--timeout", "10"], output, error);

            Assert.Equal((0, 0, ""), (wrote, ready, error.ToString()));
            Assert.Contains("answered grpc-status 0, Allowed", output.ToString(), StringComparison.Ordinal);
            Assert.Equal(GrpcFrame.Encode(CheckPool.ToRequest(HotCase())), await File.ReadAllBytesAsync(body));
            Assert.Equal(V1.Decision.Allowed, GrpcFrame.Decode(await File.ReadAllBytesAsync(response), V1.CheckResponse.Parser, out _)!.Decision);
        }
        finally
        {
            File.Delete(body);
            File.Delete(response);
        }
    }

    [Fact]
    public async Task H2LoadBatchBody_IsTheScatteredChecks_AnsweredAsTheDataSetExpects()
    {
        var body = Path.GetTempFileName();
        var response = Path.GetTempFileName();
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();

            var wrote = await LoadTestCommand.RunAsync(
                ["write-h2load-body", "--orgs", "2", "--batch", "50", "--out", body, "--verify", seeded.Server.Address.ToString(), "--token", seeded.Server.Key!,
                    "--response-out", response], output, error);

            Assert.Equal((0, ""), (wrote, error.ToString()));
            Assert.Contains("the 50 decisions the data set expects", output.ToString(), StringComparison.Ordinal);
            var data = new LoadData.PlatformDataSet(SeededServer.Organizations);
            _ = data.Generate().Count();
            var (request, expected) = BatchCheckScenario.Batch(CheckPool.Scattered(data), 0, 50);
            Assert.Equal(GrpcFrame.Encode(request), await File.ReadAllBytesAsync(body));
            var answers = GrpcFrame.Decode(await File.ReadAllBytesAsync(response), V1.BatchCheckResponse.Parser, out _)!;
            Assert.Equal(expected, answers.Results.Select(r => r.Decision));
            Assert.Contains(V1.Decision.Allowed, expected);
            Assert.Contains(V1.Decision.Denied, expected);
        }
        finally
        {
            File.Delete(body);
            File.Delete(response);
        }
    }

    private static LoadData.CheckCase HotCase()
    {
        var data = new LoadData.PlatformDataSet(SeededServer.Organizations);
        _ = data.Generate().Count();
        return LoadData.CheckCases.For(data.Scenario).Single(c => c.Name == "DeepInherited");
    }

    private RunSettings Settings(string scenario) => new()
    {
        Target = seeded.Server.Address,
        Scenario = scenario,
        Organizations = SeededServer.Organizations,
        Concurrency = 4,
        Connections = 2,
        Requests = 200,
        Warmup = 20,
        Duration = TimeSpan.FromSeconds(20),
        BatchSize = 10,
        WritesPerSecond = 50,
    };
}
