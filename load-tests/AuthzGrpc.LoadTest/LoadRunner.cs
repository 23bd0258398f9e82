using System.Collections.Concurrent;
using System.Diagnostics;
using AuthzGrpc.LoadData;
using AuthzGrpc.LoadTest.Scenarios;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;
using HdrHistogram;

namespace AuthzGrpc.LoadTest;

/// <summary>A run that cannot start or go on, with what to do about it (exit code 2).</summary>
internal sealed class HarnessException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Runs a scenario against a server: checks that the server holds the data set and accepts the key, warms up, then
/// measures. <see cref="RunSettings.Concurrency"/> caller loops, spread round-robin over
/// <see cref="RunSettings.Connections"/> channels of one HTTP/2 connection each, take call tickets until
/// <see cref="RunSettings.Requests"/> are taken or <see cref="RunSettings.Duration"/> has passed; calls still in flight
/// then get <see cref="RunSettings.Grace"/> before they are cancelled. With <see cref="RunSettings.Rate"/> the measured
/// calls are due on a fixed schedule instead (open loop).
/// </summary>
internal sealed class LoadRunner(RunSettings settings, TextWriter output)
{
    /// <summary>Runs the whole scenario and returns its figures.</summary>
    public async Task<RunSummary> RunAsync(string token, CancellationToken cancellationToken)
    {
        var data = new PlatformDataSet(settings.Organizations);

        // The checks' ids depend on the generator's random picks, which are known only once it has run.
        var generated = data.Generate().LongCount();
        var scenario = ScenarioCatalog.Create(settings, data);
        output.WriteLine($"{scenario.Name}: data set of {settings.Organizations:N0} organizations ({generated:N0} relationships generated); " +
            $"{settings.Concurrency} calls in flight on {settings.Connections} connection(s) to {settings.Target}" +
            (settings.Rate is { } rate ? $", open loop at {rate:N0} calls/s" : ""));

        var headers = new Metadata { { "authorization", "Bearer " + token } };
        var channels = Enumerable.Range(0, settings.Connections).Select(_ => CreateChannel(settings.Target)).ToArray();

        // The writer has a connection of its own, as a management client would.
        var writerChannel = CreateChannel(settings.Target);
        try
        {
            var clients = channels.Select(c => new AuthorizationService.AuthorizationServiceClient(c)).ToArray();
            var writer = new RelationshipService.RelationshipServiceClient(writerChannel);
            using (var setup = Deadline(settings.Grace, cancellationToken))
            {
                if (settings.SelfCheck)
                {
                    await SelfCheckAsync(clients, data, new CallOptions(headers, cancellationToken: setup.Token)).ConfigureAwait(false);
                }

                await scenario.PrepareAsync(writer, new CallOptions(headers, cancellationToken: setup.Token)).ConfigureAwait(false);
            }

            if (settings.Warmup > 0)
            {
                using var warmupStop = Deadline(settings.Duration + settings.Grace, cancellationToken);
                var warmup = await PhaseAsync(scenario, clients, settings.Warmup, rate: null, new CallOptions(headers, cancellationToken: warmupStop.Token)).ConfigureAwait(false);
                output.WriteLine($"warm-up: {warmup.Calls:N0} calls in {warmup.Seconds:F1} s ({ErrorCounts.Describe(ErrorCounts.Of(warmup.Errors))} failed)");
            }

            var loadBefore = MachineSummary.LoadAverage();
            var startedUtc = DateTimeOffset.UtcNow;
            using var measuredStop = Deadline(settings.Duration + settings.Grace, cancellationToken);
            using var besideStop = new CancellationTokenSource();
            var options = new CallOptions(headers, cancellationToken: measuredStop.Token);
            var beside = scenario.RunBesideAsync(writer, options, besideStop.Token);
            var measured = await PhaseAsync(scenario, clients, settings.Requests, settings.Rate, options).ConfigureAwait(false);
            await besideStop.CancelAsync().ConfigureAwait(false);
            await beside.ConfigureAwait(false);

            var succeeded = measured.Calls - measured.Errors.Values.Sum();
            return new RunSummary
            {
                Scenario = scenario.Name,
                StartedUtc = startedUtc,
                Settings = settings,
                Machine = new MachineSummary(Environment.ProcessorCount, loadBefore, MachineSummary.LoadAverage(), Environment.Version.ToString()),
                Calls = measured.Calls,
                Checks = measured.Checks,
                Seconds = Math.Round(measured.Seconds, 3),
                CallsPerSecond = Math.Round(succeeded / measured.Seconds, 1),
                ChecksPerSecond = Math.Round(measured.Checks / measured.Seconds, 1),
                Latency = LatencySummary.Of(measured.Latency),
                Errors = ErrorCounts.Of(measured.Errors),
                WrongAnswers = measured.WrongAnswers,
                Writes = scenario.Writes,
                Consistency = scenario.Consistency,
            };
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }

            writerChannel.Dispose();
        }
    }

    /// <summary>An h2c (or TLS) channel on exactly one HTTP/2 connection: its own handler, no extra connections.</summary>
    public static GrpcChannel CreateChannel(Uri target) => GrpcChannel.ForAddress(target, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        },
        DisposeHttpClient = true,
    });

    private static CancellationTokenSource Deadline(TimeSpan after, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(after);
        return source;
    }

    // Each of the six cases of the data set must get its answer, and every connection is opened on the way, so that a
    // server seeded with other data, or a refused key, stops the run before it measures anything.
    private async Task SelfCheckAsync(AuthorizationService.AuthorizationServiceClient[] clients, PlatformDataSet data, CallOptions options)
    {
        var cases = CheckCases.For(data.Scenario);
        for (var i = 0; i < Math.Max(cases.Length, clients.Length); i++)
        {
            var c = cases[i % cases.Length];
            CheckResponse response;
            try
            {
                response = await clients[i % clients.Length].CheckAsync(CheckPool.ToRequest(c), options).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
            {
                throw new HarnessException($"the server refused the API key ({e.StatusCode}: {e.Status.Detail}): pass --token, set AUTHZ_TOKEN or point --token-file at the server's bootstrap.key", e);
            }
            catch (RpcException e)
            {
                throw new HarnessException($"the self-check call {c} failed with {e.StatusCode}: {e.Status.Detail}", e);
            }

            if ((response.Decision == Decision.Allowed) != c.Expected)
            {
                throw new HarnessException(
                    $"the server does not hold the data set of {data.Organizations} organizations: {c} was answered {response.Decision}. " +
                    $"Seed a new database with it: generate-relationships --orgs {data.Organizations} --out FILE, then start the server with " +
                    "--Authz:RelationshipsFile=FILE and a fresh Authz:Storage:ConnectionString");
            }
        }

        output.WriteLine($"self-check: the {cases.Length} cases of the data set answered as expected on {clients.Length} connection(s)");
    }

    private async Task<PhaseResult> PhaseAsync(Scenario scenario, AuthorizationService.AuthorizationServiceClient[] clients, long requests, double? rate, CallOptions options)
    {
        var result = new PhaseResult();
        var started = Stopwatch.GetTimestamp();
        var tickets = new Tickets(requests, started + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency), options.CancellationToken);
        var schedule = rate is { } perSecond ? new Schedule(started, perSecond) : null;
        var callers = new Task[settings.Concurrency];
        for (var i = 0; i < callers.Length; i++)
        {
            var client = clients[i % clients.Length];
            callers[i] = Task.Run(() => CallerAsync(scenario, client, tickets, schedule, options, result));
        }

        await Task.WhenAll(callers).ConfigureAwait(false);
        result.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return result;
    }

    private static async Task CallerAsync(
        Scenario scenario, AuthorizationService.AuthorizationServiceClient client, Tickets tickets, Schedule? schedule, CallOptions options, PhaseResult result)
    {
        while (tickets.TryTake(out var ticket))
        {
            var started = Stopwatch.GetTimestamp();
            if (schedule is not null)
            {
                // Latency counts from when the call was due: the wait for a free caller is part of it.
                started = schedule.Due(ticket);
                var early = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), started);
                if (early > TimeSpan.Zero)
                {
                    // Cancelled at the deadline: the call below then fails as cancelled and is counted so.
                    await Task.Delay(early, options.CancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }

            try
            {
                var outcome = await scenario.CallAsync(client, ticket, options).ConfigureAwait(false);
                result.Latency.RecordValue(LatencySummary.Microseconds(Stopwatch.GetElapsedTime(started)));
                Interlocked.Add(ref result.Checks, outcome.Checks);
                Interlocked.Add(ref result.WrongAnswers, outcome.WrongAnswers);
            }
            catch (RpcException e)
            {
                result.Errors.AddOrUpdate(e.StatusCode, 1, (_, n) => n + 1);
            }

            Interlocked.Increment(ref result.Calls);
        }
    }

    /// <summary>When call number n is due in the open-loop mode: n / rate seconds after the phase started.</summary>
    private sealed class Schedule(long startTimestamp, double perSecond)
    {
        public long Due(long ticket) => startTimestamp + (long)(ticket * (Stopwatch.Frequency / perSecond));
    }

    /// <summary>Hands out call numbers 0, 1, 2… until the count, the time or the cancellation says stop.</summary>
    private sealed class Tickets(long limit, long stopTimestamp, CancellationToken cancellationToken)
    {
        private long _next = -1;

        public bool TryTake(out long ticket)
        {
            ticket = Interlocked.Increment(ref _next);
            return ticket < limit && Stopwatch.GetTimestamp() < stopTimestamp && !cancellationToken.IsCancellationRequested;
        }
    }

    // Shared by the caller loops of one phase: a concurrent histogram and interlocked counters.
#pragma warning disable CA1051 // Fields, so the callers can update them with Interlocked.
    private sealed class PhaseResult
    {
        public readonly LongConcurrentHistogram Latency = LatencySummary.NewHistogram();
        public readonly ConcurrentDictionary<StatusCode, long> Errors = new();
        public long Calls;
        public long Checks;
        public long WrongAnswers;
        public double Seconds;
    }
#pragma warning restore CA1051
}
