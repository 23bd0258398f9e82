using System.Text.Json.Serialization;
using AuthzGrpc.LoadTest.Scenarios;

namespace AuthzGrpc.LoadTest;

/// <summary>
/// One run of a scenario: where, how hard and for how long. Both <see cref="Requests"/> and <see cref="Duration"/> bound
/// the measured phase (whichever is reached first ends it), and <see cref="Warmup"/> calls run before it under the same
/// time cap, so no run is unbounded in count or time.
/// </summary>
internal sealed record RunSettings
{
    /// <summary>The most calls in flight at once.</summary>
    public const int MaxConcurrency = 1024;

    /// <summary>The most HTTP/2 connections.</summary>
    public const int MaxConnections = 64;

    /// <summary>The most measured calls of one run.</summary>
    public const long MaxRequests = 10_000_000;

    /// <summary>The longest measured phase.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(10);

    /// <summary>The most warm-up calls.</summary>
    public const int MaxWarmup = 1_000_000;

    /// <summary>The largest BatchCheck (the server's default Authz:MaxBatchCheckItems).</summary>
    public const int MaxBatchSize = 1_000;

    /// <summary>The highest arrival rate of the open-loop mode, calls per second.</summary>
    public const double MaxRate = 1_000_000;

    /// <summary>The fastest writer of the write scenarios: a low-rate writer beside the checks, not a write benchmark.</summary>
    public const double MaxWritesPerSecond = 200;

    /// <summary>The server, e.g. <c>http://127.0.0.1:50051</c>; loopback only (<see cref="LoopbackTarget"/>).</summary>
    public required Uri Target { get; init; }

    /// <summary>The scenario's name (<see cref="ScenarioCatalog.Names"/>).</summary>
    public required string Scenario { get; init; }

    /// <summary>The size of the data set the server was seeded with (<c>generate-relationships --orgs</c>).</summary>
    public int Organizations { get; init; } = 100;

    /// <summary>Calls in flight at once: one caller loop each.</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>HTTP/2 connections; the callers are spread over them round-robin.</summary>
    public int Connections { get; init; } = 2;

    /// <summary>Measured calls at most.</summary>
    public long Requests { get; init; } = 100_000;

    /// <summary>How long the measured phase may last at most; the warm-up has the same cap.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Calls made and discarded before measuring (JIT, connections, the server's caches).</summary>
    public int Warmup { get; init; } = 20_000;

    /// <summary>Checks per BatchCheck in the batch-check scenario.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>The writer's rate in the check-with-writes and at-least scenarios.</summary>
    public double WritesPerSecond { get; init; } = 10;

    /// <summary>
    /// Open loop: the measured calls are due at this fixed rate (calls per second) whatever the answers' latency, and
    /// each call's latency counts from when it was due, not from when it was sent, so a slow answer also counts in the
    /// calls it held back (no coordinated omission). <see cref="Concurrency"/> still bounds the calls in flight: give
    /// it at least the rate times the latency expected. Null (the default): closed loop, each caller sends its next
    /// call when the last is answered. The warm-up is always closed loop.
    /// </summary>
    public double? Rate { get; init; }

    /// <summary>
    /// Whether the data set's six cases are checked before the run (true, the default). False is for the floor server
    /// (<c>load-tests/AuthzGrpc.Floor</c>), which allows every check: with check-hot only, whose every answer is ALLOWED.
    /// </summary>
    public bool SelfCheck { get; init; } = true;

    /// <summary>How long calls still in flight when the duration is up may take before they are cancelled.</summary>
    [JsonIgnore]
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>What is wrong with these settings, one message per problem; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!ScenarioCatalog.Names.Contains(Scenario))
        {
            problems.Add($"--scenario '{Scenario}' is not known: use one of {string.Join(", ", ScenarioCatalog.Names)}");
        }

        if (!LoopbackTarget.TryParse(Target.OriginalString, out _, out var targetError))
        {
            problems.Add("--target " + targetError);
        }

        Range(problems, "--orgs", Organizations, 2, LoadData.PlatformDataSet.DefaultOrganizations * 10);
        Range(problems, "--concurrency", Concurrency, 1, MaxConcurrency);
        Range(problems, "--connections", Connections, 1, MaxConnections);
        Range(problems, "--requests", Requests, 1, MaxRequests);
        Range(problems, "--warmup", Warmup, 0, MaxWarmup);
        Range(problems, "--batch-size", BatchSize, 1, MaxBatchSize);
        if (Connections > Concurrency)
        {
            problems.Add($"--connections {Connections} exceeds --concurrency {Concurrency}: a connection without a caller would stay idle");
        }

        if (Duration <= TimeSpan.Zero || Duration > MaxDuration)
        {
            problems.Add($"--duration must be more than 0 and at most {MaxDuration.TotalSeconds:F0} seconds (was {Duration.TotalSeconds:F0})");
        }

        if (!SelfCheck && Scenario != ScenarioCatalog.CheckHot)
        {
            problems.Add($"--skip-self-check works with --scenario {ScenarioCatalog.CheckHot} only: the floor server allows every check");
        }

        if (Rate is { } rate && !(rate > 0 && rate <= MaxRate))
        {
            problems.Add($"--rate must be more than 0 and at most {MaxRate:N0} calls per second (was {rate})");
        }

        if (!(WritesPerSecond >= 0.1 && WritesPerSecond <= MaxWritesPerSecond))
        {
            problems.Add($"--writes-per-second must be from 0.1 to {MaxWritesPerSecond:F0} (was {WritesPerSecond})");
        }

        return problems;
    }

    private static void Range(List<string> problems, string option, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{option} must be from {min:N0} to {max:N0} (was {value:N0})");
        }
    }
}
