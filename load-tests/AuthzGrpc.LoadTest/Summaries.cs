using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.Core;
using HdrHistogram;

namespace AuthzGrpc.LoadTest;

/// <summary>A latency distribution in microseconds, read from an HdrHistogram (3 significant digits).</summary>
/// <param name="Count">How many values were recorded.</param>
/// <param name="Mean">Their mean.</param>
/// <param name="P50">The median.</param>
/// <param name="P90">The 90th percentile.</param>
/// <param name="P99">The 99th percentile.</param>
/// <param name="P999">The 99.9th percentile.</param>
/// <param name="Max">The largest value.</param>
internal sealed record LatencySummary(long Count, double Mean, long P50, long P90, long P99, long P999, long Max)
{
    /// <summary>The largest latency a histogram holds; a longer call (it would have been cancelled anyway) counts as this.</summary>
    public const long MaxMicroseconds = 60_000_000;

    /// <summary>A histogram of 1 µs to <see cref="MaxMicroseconds"/> at 3 significant digits, safe to record into from any thread.</summary>
    public static LongConcurrentHistogram NewHistogram() => new(1, MaxMicroseconds, 3);

    /// <summary><paramref name="elapsed"/> in whole microseconds, within what a histogram holds.</summary>
    public static long Microseconds(TimeSpan elapsed) => Math.Clamp((long)elapsed.TotalMicroseconds, 1, MaxMicroseconds);

    /// <summary>The distribution <paramref name="histogram"/> holds.</summary>
    public static LatencySummary Of(HistogramBase histogram) => histogram.TotalCount == 0
        ? new(0, 0, 0, 0, 0, 0, 0)
        : new(
            histogram.TotalCount,
            Math.Round(histogram.GetMean(), 1),
            histogram.GetValueAtPercentile(50),
            histogram.GetValueAtPercentile(90),
            histogram.GetValueAtPercentile(99),
            histogram.GetValueAtPercentile(99.9),
            histogram.GetMaxValue());

    /// <inheritdoc/>
    public override string ToString() =>
        Count == 0 ? "none" : $"p50 {P50:N0} µs, p90 {P90:N0} µs, p99 {P99:N0} µs, p99.9 {P999:N0} µs, max {Max:N0} µs (mean {Mean:N1} µs)";
}

/// <summary>Failed calls by gRPC status name.</summary>
internal static class ErrorCounts
{
    /// <summary>A snapshot, in status-code order.</summary>
    public static SortedDictionary<string, long> Of(ConcurrentDictionary<StatusCode, long> errors) =>
        new(errors.OrderBy(e => e.Key).ToDictionary(e => e.Key.ToString(), e => e.Value), StringComparer.Ordinal);

    /// <summary>"none", or "Unavailable ×3, Cancelled ×1".</summary>
    public static string Describe(IReadOnlyDictionary<string, long> errors) =>
        errors.Count == 0 ? "none" : string.Join(", ", errors.Select(e => $"{e.Key} ×{e.Value:N0}"));
}

/// <summary>The writer of a write scenario, measured apart from the checks.</summary>
/// <param name="TargetPerSecond">The rate it was paced at.</param>
/// <param name="Latency">WriteRelationships round trips that committed.</param>
/// <param name="Errors">Failed writes by status.</param>
/// <param name="FirstRevision">The revision token of its first committed write in the measured phase.</param>
/// <param name="LastRevision">The revision token of its last committed write.</param>
internal sealed record WriteSummary(double TargetPerSecond, LatencySummary Latency, SortedDictionary<string, long> Errors, string? FirstRevision, string? LastRevision);

/// <summary>The at-least scenario's verification of read-your-writes.</summary>
/// <param name="ProbeChecks">Checks of the probe relationship the writer toggles, in the warm-up and the measured phase (all are judged).</param>
/// <param name="Violations">Probe checks answered below their token, or with a decision that is no state at or after the reported revision.</param>
/// <param name="NewerThanReported">Probe checks whose decision is the state of a write committed after the revision the response reported (<see cref="Scenarios.ProbeVerdict.NewerThanReported"/>).</param>
/// <param name="Unverified">Probe checks whose possible states the harness could not know (a write in flight or failed).</param>
internal sealed record ConsistencySummary(long ProbeChecks, long Violations, long NewerThanReported, long Unverified);

/// <summary>Where and when a measurement ran: the machine is shared, so its load is part of the figure.</summary>
/// <param name="ProcessorCount">Logical processors.</param>
/// <param name="LoadAverageBefore">/proc/loadavg before the measured phase (1, 5 and 15 minutes).</param>
/// <param name="LoadAverageAfter">/proc/loadavg after it.</param>
/// <param name="Runtime">The .NET runtime of the harness, or the tool measured.</param>
internal sealed record MachineSummary(int ProcessorCount, string? LoadAverageBefore, string? LoadAverageAfter, string Runtime)
{
    /// <summary>The first three fields of /proc/loadavg, or null where there is none.</summary>
    public static string? LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>The machine-readable result of one harness run (<c>run --summary FILE</c>).</summary>
internal sealed record RunSummary
{
    /// <summary>"harness" for a run of this harness, "h2load" for <see cref="H2LoadSummary"/>.</summary>
    public string Tool { get; init; } = "harness";

    public required string Scenario { get; init; }

    public required DateTimeOffset StartedUtc { get; init; }

    public required RunSettings Settings { get; init; }

    public required MachineSummary Machine { get; init; }

    /// <summary>Calls that completed in the measured phase (failed ones included).</summary>
    public required long Calls { get; init; }

    /// <summary>Checks answered by the successful calls.</summary>
    public required long Checks { get; init; }

    /// <summary>The measured phase, from its first call to its last answer.</summary>
    public required double Seconds { get; init; }

    /// <summary>Successful calls per second.</summary>
    public required double CallsPerSecond { get; init; }

    /// <summary>Checks per second (calls per second times the batch size for BatchCheck).</summary>
    public required double ChecksPerSecond { get; init; }

    /// <summary>The successful calls' latency, in microseconds.</summary>
    public required LatencySummary Latency { get; init; }

    /// <summary>Failed calls by status.</summary>
    public required SortedDictionary<string, long> Errors { get; init; }

    /// <summary>Checks whose decision differed from the data set's.</summary>
    public required long WrongAnswers { get; init; }

    public WriteSummary? Writes { get; init; }

    public ConsistencySummary? Consistency { get; init; }

    /// <summary>Whether the run had no failed call, no wrong answer and no failed write.</summary>
    [JsonIgnore]
    public bool Clean => Errors.Count == 0 && WrongAnswers == 0 && (Writes?.Errors.Count ?? 0) == 0 && (Consistency?.Violations ?? 0) == 0;
}

/// <summary>h2load's figures for the Check call, with the checks the harness made of its answers (<c>h2load-report</c>).</summary>
internal sealed record H2LoadSummary
{
    public string Tool { get; init; } = "h2load";

    public required string Scenario { get; init; }

    /// <summary>h2load's arguments, the key replaced by <c>azk_…</c>.</summary>
    public required string Command { get; init; }

    public required long Requests { get; init; }

    public required long Succeeded { get; init; }

    public required long Failed { get; init; }

    public required long Status2xx { get; init; }

    public required double Seconds { get; init; }

    public required double RequestsPerSecond { get; init; }

    /// <summary>Response DATA bytes h2load received, and what every response being the verified ALLOWED answer implies.</summary>
    public required long DataBytes { get; init; }

    public required long ExpectedDataBytes { get; init; }

    /// <summary>Per-request latency from h2load's <c>--log-file</c>, in microseconds.</summary>
    public required LatencySummary Latency { get; init; }

    /// <summary>The machine's load around the run (<see cref="MachineSummary.Runtime"/> is "h2load").</summary>
    public required MachineSummary Machine { get; init; }

    /// <summary>Every request succeeded with HTTP 200 and a body the size of the verified answer.</summary>
    public bool Verified => Succeeded == Requests && Status2xx == Requests && DataBytes == ExpectedDataBytes;
}

/// <summary>How the summaries are written and read.</summary>
internal static class SummaryJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };
}
