using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AuthzGrpc.LoadData;
using AuthzGrpc.LoadTest.Scenarios;
using AuthzGrpc.V1;

namespace AuthzGrpc.LoadTest;

/// <summary>
/// The harness's command line. Exit codes: 0 done and clean; 1 the run had failed calls, wrong answers or a failed
/// verification; 2 the arguments or the setup were unusable (nothing was measured).
/// </summary>
internal static class LoadTestCommand
{
    /// <summary>The server address unless <c>--target</c> says otherwise (scripts/run.sh's default).</summary>
    public const string DefaultTarget = "http://127.0.0.1:50051";

    /// <summary>The gRPC path of Check, as h2load and curl address it.</summary>
    public const string CheckMethod = "/authz.v1.AuthorizationService/Check";

    /// <summary>The gRPC path of BatchCheck, as h2load addresses it.</summary>
    public const string BatchCheckMethod = "/authz.v1.AuthorizationService/BatchCheck";

    private const string HealthMethod = "/grpc.health.v1.Health/Check";

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("AuthzGrpc load harness: drives a server on loopback with the platform data set and reports latency percentiles")
        {
            RunCommand(output, error),
            GenerateCommand(output),
            H2LoadBodyCommand(output, error),
            WaitReadyCommand(output, error),
            H2LoadReportCommand(output, error),
            ReportCommand(output, error),
        };
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }

    private static Option<string> TargetOption() => new("--target")
    {
        Description = $"The server, loopback only: http://127.0.0.1:PORT, http://[::1]:PORT or http://localhost:PORT (default {DefaultTarget})",
        DefaultValueFactory = _ => DefaultTarget,
    };

    private static Option<int> OrganizationsOption() => new("--orgs")
    {
        Description = "Organizations in the data set; must match what the server was seeded with (100: about 148,000 relationships)",
        DefaultValueFactory = _ => 100,
    };

    private static (Option<string?> Token, Option<string?> File) TokenOptions() => (
        new("--token") { Description = $"The API key (default: ${ApiToken.Variable}, else the content of --token-file)" },
        new("--token-file") { Description = $"A file holding the API key (default {ApiToken.DefaultFile})" });

    // A loopback target from an option, or the reason printed as "--option reason".
    private static Uri? Target(string? text, string option, TextWriter error)
    {
        if (LoopbackTarget.TryParse(text, out var uri, out var reason))
        {
            return uri;
        }

        error.WriteLine($"{option} {reason}");
        return null;
    }

    // The key to send, or null with where it was looked for printed.
    private static string? Key(ParseResult result, Option<string?> token, Option<string?> tokenFile, TextWriter error)
    {
        var key = ApiToken.Resolve(result.GetValue(token), result.GetValue(tokenFile), Environment.GetEnvironmentVariable, out var reason);
        if (key is null)
        {
            error.WriteLine(reason);
        }

        return key;
    }

    private static Command RunCommand(TextWriter output, TextWriter error)
    {
        var defaults = new RunSettings { Target = new Uri(DefaultTarget), Scenario = ScenarioCatalog.CheckHot };
        var target = TargetOption();
        var (token, tokenFile) = TokenOptions();
        var organizations = OrganizationsOption();
        var scenario = new Option<string>("--scenario") { Description = $"One of {string.Join(", ", ScenarioCatalog.Names)}", Required = true };
        var concurrency = new Option<int>("--concurrency") { Description = "Calls in flight at once", DefaultValueFactory = _ => defaults.Concurrency };
        var connections = new Option<int>("--connections") { Description = "HTTP/2 connections the calls are spread over", DefaultValueFactory = _ => defaults.Connections };
        var requests = new Option<long>("--requests") { Description = "Measured calls at most", DefaultValueFactory = _ => defaults.Requests };
        var duration = new Option<double>("--duration") { Description = "Seconds the measured phase may last at most (the warm-up has the same cap)", DefaultValueFactory = _ => defaults.Duration.TotalSeconds };
        var warmup = new Option<int>("--warmup") { Description = "Calls made and not measured before the measured phase", DefaultValueFactory = _ => defaults.Warmup };
        var batchSize = new Option<int>("--batch-size") { Description = "Checks per BatchCheck (batch-check)", DefaultValueFactory = _ => defaults.BatchSize };
        var writesPerSecond = new Option<double>("--writes-per-second") { Description = "The writer's rate (check-with-writes, at-least)", DefaultValueFactory = _ => defaults.WritesPerSecond };
        var rate = new Option<double?>("--rate") { Description = "Open loop: the measured calls are due at this many per second, latency counted from when each was due (default: closed loop)" };
        var skipSelfCheck = new Option<bool>("--skip-self-check") { Description = "For the floor server, which allows every check: no self-check (check-hot only)" };
        var summary = new Option<string?>("--summary") { Description = "Write the figures as JSON to this file" };
        var command = new Command("run", "Run a scenario and report throughput, latency percentiles and errors")
        {
            target, token, tokenFile, organizations, scenario, concurrency, connections, requests, duration, warmup, batchSize, writesPerSecond, rate, skipSelfCheck, summary,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (Target(result.GetValue(target), "--target", error) is not { } uri)
            {
                return 2;
            }

            var settings = defaults with
            {
                Target = uri,
                Scenario = result.GetValue(scenario)!,
                Organizations = result.GetValue(organizations),
                Concurrency = result.GetValue(concurrency),
                Connections = result.GetValue(connections),
                Requests = result.GetValue(requests),
                Duration = TimeSpan.FromSeconds(Math.Clamp(result.GetValue(duration), 0, RunSettings.MaxDuration.TotalSeconds + 1)),
                Warmup = result.GetValue(warmup),
                BatchSize = result.GetValue(batchSize),
                WritesPerSecond = result.GetValue(writesPerSecond),
                Rate = result.GetValue(rate),
                SelfCheck = !result.GetValue(skipSelfCheck),
            };
            if (Usable(settings.Problems(), error) is { } problem)
            {
                return problem;
            }

            if (Key(result, token, tokenFile, error) is not { } key)
            {
                return 2;
            }

            RunSummary figures;
            try
            {
                figures = await new LoadRunner(settings, output).RunAsync(key, cancellationToken);
            }
            catch (Exception e) when (e is HarnessException or InvalidOperationException)
            {
                error.WriteLine(e.Message);
                return 2;
            }

            Print(figures, output);
            if (result.GetValue(summary) is { } path)
            {
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(figures, SummaryJson.Options), cancellationToken);
                output.WriteLine($"summary: {path}");
            }

            return figures.Clean ? 0 : 1;
        });
        return command;
    }

    private static int? Usable(IReadOnlyList<string> problems, TextWriter error)
    {
        foreach (var problem in problems)
        {
            error.WriteLine(problem);
        }

        return problems.Count == 0 ? null : 2;
    }

    private static void Print(RunSummary s, TextWriter output)
    {
        var batch = s.Checks == s.Calls ? string.Empty : $" = {s.ChecksPerSecond:N0} checks/s";
        output.WriteLine($"{s.Scenario}: {s.Calls:N0} calls in {s.Seconds:F2} s: {s.CallsPerSecond:N0} calls/s{batch}");
        output.WriteLine($"  latency: {s.Latency}");
        output.WriteLine($"  failed calls: {ErrorCounts.Describe(s.Errors)}; wrong answers: {s.WrongAnswers:N0}");
        if (s.Writes is { } w)
        {
            output.WriteLine($"  writes ({w.TargetPerSecond:G} /s): {w.Latency.Count:N0} committed, revisions {w.FirstRevision ?? "-"} to {w.LastRevision ?? "-"}; failed: {ErrorCounts.Describe(w.Errors)}");
            output.WriteLine($"  write latency: {w.Latency}");
        }

        if (s.Consistency is { } c)
        {
            output.WriteLine($"  at_least probe: {c.ProbeChecks:N0} checks, {c.Violations:N0} violations, {c.NewerThanReported:N0} answered a state newer than the revision reported, " +
                $"{c.Unverified:N0} unverifiable (write in flight)");
        }

        output.WriteLine($"  load average before/after: {s.Machine.LoadAverageBefore ?? "n/a"} / {s.Machine.LoadAverageAfter ?? "n/a"} on {s.Machine.ProcessorCount} processors");
    }

    private static Command GenerateCommand(TextWriter output)
    {
        var organizations = OrganizationsOption();
        var file = new Option<string>("--out") { Description = "The relationships file to write (the server's Authz:RelationshipsFile)", Required = true };
        var command = new Command("generate-relationships", "Write the platform data set as a seed file for the server") { organizations, file };
        command.SetAction(result =>
        {
            var orgs = result.GetValue(organizations);
            if (orgs < 2 || orgs > PlatformDataSet.DefaultOrganizations * 10)
            {
                output.WriteLine($"--orgs must be from 2 to {PlatformDataSet.DefaultOrganizations * 10:N0}");
                return 2;
            }

            var stopwatch = Stopwatch.StartNew();
            var lines = SeedFile.Write(orgs, result.GetValue(file)!);
            output.WriteLine($"wrote {lines:N0} relationships ({orgs:N0} organizations) to {result.GetValue(file)} in {stopwatch.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }

    private static Command H2LoadBodyCommand(TextWriter output, TextWriter error)
    {
        var organizations = OrganizationsOption();
        var file = new Option<string>("--out") { Description = "The body file for h2load -d: the gRPC frame of the check-hot CheckRequest", Required = true };
        var batch = new Option<int>("--batch")
        {
            Description = $"Instead, a BatchCheckRequest of this many scattered checks (1 to {MaxBodyBatch}), sent to {BatchCheckMethod}",
        };
        var verify = new Option<string?>("--verify") { Description = "A loopback server to send the exact body to first: it must answer grpc-status 0 and ALLOWED (each item as the data set expects)" };
        var (token, tokenFile) = TokenOptions();
        var responseFile = new Option<string?>("--response-out") { Description = "With --verify: write the response body the server sent (h2load-report compares sizes with it)" };
        var command = new Command("write-h2load-body", "Write the Check (or BatchCheck) request body h2load sends, and verify it against a server")
        {
            organizations, file, batch, verify, token, tokenFile, responseFile,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var size = result.GetValue(batch);
            if (size is < 0 or > MaxBodyBatch)
            {
                error.WriteLine($"--batch must be 1 to {MaxBodyBatch} (or left out for a Check body)");
                return 2;
            }

            var data = new PlatformDataSet(Math.Clamp(result.GetValue(organizations), 2, PlatformDataSet.DefaultOrganizations * 10));
            _ = data.Generate().LongCount();
            byte[] body;
            string method;
            Decision[] expected;
            if (size == 0)
            {
                var hot = CheckCases.For(data.Scenario).Single(c => c.Name == "DeepInherited");
                (body, method, expected) = (GrpcFrame.Encode(CheckPool.ToRequest(hot)), CheckMethod, [Decision.Allowed]);
                output.WriteLine($"wrote the {body.Length}-byte Check body of {hot} to {result.GetValue(file)}");
            }
            else
            {
                var (request, decisions) = BatchCheckScenario.Batch(CheckPool.Scattered(data), 0, size);
                (body, method, expected) = (GrpcFrame.Encode(request), BatchCheckMethod, decisions);
                output.WriteLine($"wrote the {body.Length}-byte BatchCheck body of {size} scattered checks ({decisions.Count(d => d == Decision.Allowed)} allowed) to {result.GetValue(file)}");
            }

            await File.WriteAllBytesAsync(result.GetValue(file)!, body, cancellationToken);
            if (result.GetValue(verify) is not { } verifyTarget)
            {
                return 0;
            }

            if (Target(verifyTarget, "--verify", error) is not { } uri || Key(result, token, tokenFile, error) is not { } key)
            {
                return 2;
            }

            using var http = RawGrpc.CreateClient();
            var response = await RawGrpc.CallAsync(http, uri, method, body, key, cancellationToken);
            Decision[] answered;
            string revision;
            string? frameError;
            if (size == 0)
            {
                var check = GrpcFrame.Decode(response.Body, CheckResponse.Parser, out frameError);
                answered = check is null ? [] : [check.Decision];
                revision = check?.Revision ?? "";
            }
            else
            {
                var answers = GrpcFrame.Decode(response.Body, BatchCheckResponse.Parser, out frameError);
                answered = answers is null ? [] : [.. answers.Results.Select(r => r.Decision)];
                revision = answers?.Revision ?? "";
            }

            if (response.HttpStatus != 200 || response.GrpcStatus != 0 || !answered.SequenceEqual(expected))
            {
                error.WriteLine($"the body was not answered as the data set expects: HTTP {response.HttpStatus}, grpc-status {response.GrpcStatus?.ToString(CultureInfo.InvariantCulture) ?? "none"} " +
                    $"{response.GrpcMessage}, {(answered.Length == 0 ? frameError : $"{answered.Length} decisions, {answered.Zip(expected).Count(p => p.First != p.Second)} unexpected")}");
                return 1;
            }

            if (result.GetValue(responseFile) is { } responsePath)
            {
                await File.WriteAllBytesAsync(responsePath, response.Body, cancellationToken);
            }

            output.WriteLine(size == 0
                ? $"verified: {uri} answered grpc-status 0, {answered[0]} at revision {revision}, in a {response.Body.Length}-byte body"
                : $"verified: {uri} answered grpc-status 0, the {size} decisions the data set expects at revision {revision}, in a {response.Body.Length}-byte body");
            return 0;
        });
        return command;
    }

    // The most checks a BatchCheck body holds: the server's default Authz:MaxBatchCheckItems.
    private const int MaxBodyBatch = 1000;

    private static Command WaitReadyCommand(TextWriter output, TextWriter error)
    {
        var target = TargetOption();
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait at most (at most 1800)", DefaultValueFactory = _ => 120 };
        var pid = new Option<int?>("--pid") { Description = "The server's process id: stop waiting if it exits" };
        var command = new Command("wait-ready", "Wait until the server's grpc.health.v1 Check answers SERVING (exit 0), or give up (exit 1)") { target, timeout, pid };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (Target(result.GetValue(target), "--target", error) is not { } uri)
            {
                return 2;
            }

            var waited = Stopwatch.StartNew();
            var limit = TimeSpan.FromSeconds(Math.Clamp(result.GetValue(timeout), 1, 1800));
            var emptyRequest = new byte[GrpcFrame.PrefixLength];
            using var http = RawGrpc.CreateClient();
            while (waited.Elapsed < limit)
            {
                if (result.GetValue(pid) is { } id && !IsRunning(id))
                {
                    error.WriteLine($"the server (pid {id}) exited before it served");
                    return 1;
                }

                try
                {
                    var response = await RawGrpc.CallAsync(http, uri, HealthMethod, emptyRequest, null, cancellationToken);

                    // HealthCheckResponse { status = SERVING (1) } is field 1, varint 1: 08 01.
                    if (response.GrpcStatus == 0 && response.Body.AsSpan(GrpcFrame.PrefixLength).SequenceEqual((ReadOnlySpan<byte>)[0x08, 0x01]))
                    {
                        output.WriteLine($"{uri} is serving after {waited.Elapsed.TotalSeconds:F1} s");
                        return 0;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(250, cancellationToken);
            }

            error.WriteLine($"{uri} did not serve within {limit.TotalSeconds:F0} s");
            return 1;
        });
        return command;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static Command H2LoadReportCommand(TextWriter output, TextWriter error)
    {
        var stdout = new Option<string>("--output") { Description = "What h2load printed", Required = true };
        var log = new Option<string>("--log") { Description = "h2load's --log-file", Required = true };
        var response = new Option<string>("--response") { Description = "The verified response body (write-h2load-body --response-out)", Required = true };
        var commandText = new Option<string>("--command") { Description = "The h2load command line, for the summary (the key is masked)", DefaultValueFactory = _ => "h2load" };
        var summary = new Option<string?>("--summary") { Description = "Write the figures as JSON to this file" };
        var loadBefore = new Option<string?>("--load-average-before") { Description = "/proc/loadavg as read before h2load ran (the one after is read now)" };
        var command = new Command("h2load-report", "Read an h2load run of the Check body: req/s, latency percentiles, and whether every answer was the verified one")
        {
            stdout, log, response, commandText, summary, loadBefore,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var text = await File.ReadAllTextAsync(result.GetValue(stdout)!, cancellationToken);
            if (H2LoadOutput.ParseSummary(text, out var parseError) is not { } figures)
            {
                error.WriteLine(parseError);
                return 1;
            }

            var (durations, otherStatus) = H2LoadOutput.ParseLog(await File.ReadAllLinesAsync(result.GetValue(log)!, cancellationToken));
            var histogram = LatencySummary.NewHistogram();
            foreach (var microseconds in durations)
            {
                histogram.RecordValue(Math.Clamp(microseconds, 1, LatencySummary.MaxMicroseconds));
            }

            var answerBytes = new FileInfo(result.GetValue(response)!).Length;
            var report = new H2LoadSummary
            {
                Scenario = "h2load Check (check-hot body)",
                Command = ApiToken.Mask(result.GetValue(commandText)!),
                Requests = figures.Total,
                Succeeded = figures.Succeeded,
                Failed = figures.Failed + otherStatus,
                Status2xx = figures.Status2xx,
                Seconds = figures.Seconds,
                RequestsPerSecond = figures.RequestsPerSecond,
                DataBytes = figures.DataBytes,
                ExpectedDataBytes = answerBytes * figures.Total,
                Latency = LatencySummary.Of(histogram),
                Machine = new MachineSummary(Environment.ProcessorCount, result.GetValue(loadBefore), MachineSummary.LoadAverage(), "h2load"),
            };
            output.WriteLine($"h2load: {report.Requests:N0} requests in {report.Seconds:F2} s: {report.RequestsPerSecond:N0} req/s; {report.Status2xx:N0} HTTP 2xx");
            output.WriteLine($"  latency: {report.Latency}");
            output.WriteLine($"  load average before/after: {report.Machine.LoadAverageBefore ?? "n/a"} / {report.Machine.LoadAverageAfter ?? "n/a"} on {report.Machine.ProcessorCount} processors");
            output.WriteLine(report.Verified
                ? $"  verified: every response carried {answerBytes} bytes of DATA, the size of the verified ALLOWED answer ({report.DataBytes:N0} bytes in all)"
                : $"  NOT verified: {report.Succeeded:N0} of {report.Requests:N0} succeeded, {report.Status2xx:N0} HTTP 2xx, {report.DataBytes:N0} DATA bytes where {report.ExpectedDataBytes:N0} were expected " +
                  "(a gRPC error is HTTP 200 without DATA)");
            if (result.GetValue(summary) is { } path)
            {
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, SummaryJson.Options), cancellationToken);
                output.WriteLine($"summary: {path}");
            }

            return report.Verified ? 0 : 1;
        });
        return command;
    }

    private static Command ReportCommand(TextWriter output, TextWriter error)
    {
        var files = new Argument<string[]>("summaries") { Description = "JSON summaries of run and h2load-report", Arity = ArgumentArity.OneOrMore };
        var command = new Command("report", "Print the summaries as one markdown table") { files };
        command.SetAction(async (result, cancellationToken) =>
        {
            output.WriteLine("| scenario | calls | calls/s | checks/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | failed | wrong |");
            output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
            foreach (var file in result.GetValue(files)!)
            {
                var json = await File.ReadAllTextAsync(file, cancellationToken);
                using var document = JsonDocument.Parse(json);
                var tool = document.RootElement.TryGetProperty("tool", out var t) ? t.GetString() : null;
                if (tool == "h2load" && JsonSerializer.Deserialize<H2LoadSummary>(json, SummaryJson.Options) is { } h)
                {
                    var l = h.Latency;
                    output.WriteLine($"| {h.Scenario} | {h.Requests:N0} | {h.RequestsPerSecond:N0} | {h.RequestsPerSecond:N0} | {l.P50:N0} | {l.P90:N0} | {l.P99:N0} | {l.P999:N0} | {l.Max:N0} | {h.Failed:N0} | {(h.Verified ? "0 (by size)" : "unverified")} |");
                }
                else if (tool == "harness" && JsonSerializer.Deserialize<RunSummary>(json, SummaryJson.Options) is { } s)
                {
                    var l = s.Latency;
                    output.WriteLine($"| {s.Scenario} | {s.Calls:N0} | {s.CallsPerSecond:N0} | {s.ChecksPerSecond:N0} | {l.P50:N0} | {l.P90:N0} | {l.P99:N0} | {l.P999:N0} | {l.Max:N0} | {ErrorCounts.Describe(s.Errors)} | {s.WrongAnswers:N0} |");
                    if (s.Writes is { } w)
                    {
                        var wl = w.Latency;
                        output.WriteLine($"| {s.Scenario}: writes | {wl.Count:N0} | {w.TargetPerSecond:G} (paced) | | {wl.P50:N0} | {wl.P90:N0} | {wl.P99:N0} | {wl.P999:N0} | {wl.Max:N0} | {ErrorCounts.Describe(w.Errors)} | |");
                    }
                }
                else
                {
                    error.WriteLine($"{file}: not a summary of run or h2load-report");
                    return 1;
                }
            }

            return 0;
        });
        return command;
    }
}
