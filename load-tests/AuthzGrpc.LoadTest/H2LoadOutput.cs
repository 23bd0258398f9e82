using System.Globalization;
using System.Text.RegularExpressions;

namespace AuthzGrpc.LoadTest;

/// <summary>
/// Reads what h2load printed and its per-request log (<c>--log-file</c>: tab-separated start time, HTTP status and
/// duration in microseconds). h2load sees only HTTP: a gRPC error is an HTTP 200 too, but it carries no DATA frame, so
/// the response bytes received are compared with what that many verified answers make.
/// </summary>
internal static partial class H2LoadOutput
{
    /// <summary>The figures of h2load's summary, or null (with <paramref name="error"/>) when the text lacks one.</summary>
    public static H2LoadFigures? ParseSummary(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var finished = Finished().Match(text);
        var requests = Requests().Match(text);
        var status = StatusCodes().Match(text);
        var traffic = Traffic().Match(text);
        var missing = new[] { (finished, "finished in"), (requests, "requests:"), (status, "status codes:"), (traffic, "traffic: ... data") }
            .Where(m => !m.Item1.Success).Select(m => m.Item2).ToList();
        if (missing.Count > 0)
        {
            error = $"h2load's output has no line '{string.Join("', '", missing)}': did it run to the end?";
            return null;
        }

        var seconds = double.Parse(finished.Groups["time"].Value, CultureInfo.InvariantCulture) * finished.Groups["unit"].Value switch
        {
            "ms" => 1e-3,
            "us" => 1e-6,
            _ => 1,
        };
        error = null;
        return new H2LoadFigures(
            Seconds: seconds,
            RequestsPerSecond: double.Parse(finished.Groups["rps"].Value, CultureInfo.InvariantCulture),
            Total: Long(requests, "total"),
            Succeeded: Long(requests, "succeeded"),
            Failed: Long(requests, "failed"),
            Status2xx: Long(status, "ok"),
            DataBytes: Long(traffic, "data"));
    }

    /// <summary>The durations of <c>--log-file</c> lines whose HTTP status is 200, and how many lines had another status.</summary>
    public static (List<long> Microseconds, long OtherStatus) ParseLog(IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var durations = new List<long>();
        var other = 0L;
        foreach (var line in lines)
        {
            var fields = line.Split('\t');
            if (fields.Length < 3 || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds))
            {
                continue;
            }

            if (fields[1] == "200")
            {
                durations.Add(microseconds);
            }
            else
            {
                other++;
            }
        }

        return (durations, other);
    }

    private static long Long(Match match, string group) => long.Parse(match.Groups[group].Value, NumberStyles.None, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^finished in (?<time>[0-9.]+)(?<unit>s|ms|us), (?<rps>[0-9.]+) req/s", RegexOptions.Multiline)]
    private static partial Regex Finished();

    [GeneratedRegex(@"^requests: (?<total>\d+) total, \d+ started, \d+ done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed", RegexOptions.Multiline)]
    private static partial Regex Requests();

    [GeneratedRegex(@"^status codes: (?<ok>\d+) 2xx", RegexOptions.Multiline)]
    private static partial Regex StatusCodes();

    [GeneratedRegex(@"^traffic: .*\((?<data>\d+)\) data", RegexOptions.Multiline)]
    private static partial Regex Traffic();
}

/// <summary>h2load's own summary figures.</summary>
/// <param name="Seconds">How long the run took.</param>
/// <param name="RequestsPerSecond">h2load's req/s.</param>
/// <param name="Total">Requests asked for (<c>-n</c>).</param>
/// <param name="Succeeded">Requests that got a response (any HTTP status).</param>
/// <param name="Failed">Requests that did not.</param>
/// <param name="Status2xx">Responses with a 2xx status.</param>
/// <param name="DataBytes">Response DATA bytes.</param>
internal sealed record H2LoadFigures(double Seconds, double RequestsPerSecond, long Total, long Succeeded, long Failed, long Status2xx, long DataBytes);
