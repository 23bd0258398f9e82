using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.Core.Validation;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Xunit.Abstractions;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The shared graph on a Redis Cluster of three primaries (<see cref="RedisClusterProcess"/>), with server processes as
/// replicas, through the generated gRPC clients over loopback: revocations seen at their token on every replica,
/// the management cases passing through a writer and check replicas (which forward the management checks that foretell
/// each case to the writer, Authz:FullReplicaAddress), checks that stay right while the slots of the keys
/// they read — the meta hash's among them — move between primaries, served by Redis again afterwards, a primary
/// restarted empty whose lost records are never read as empty, and a rebuild's records and deletion reaching every
/// primary.
/// </summary>
public sealed class RedisClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeReplicas_OnRedisClusterAndPostgreSql_PassTheManagementCases_AndNeverShowARevokedAccessAtItsToken()
    {
        const int Trials = 1000;
        const int ConvergenceTrials = 20;
        const string Grant = "project:web#viewer@user:zoe";
        var zoeViewsWeb = Check("user:zoe", "view", "project:web");
        var clock = Stopwatch.StartNew();
        await using var cluster = await RedisClusterProcess.StartAsync();
        await using var database = TestDatabase.Create(StorageProvider.Postgres);
        var validation = ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", "default.yaml"));
        await using var replicas = await ReplicaDeployment.StartAsync(validation, database, cluster.Configuration, checkReplicas: 2);
        var started = clock.Elapsed;

        await ManagementCasesTests.RunAsync(validation, replicas);
        var cases = clock.Elapsed;

        // Revoked through the writer, checked at its token on each check replica in turn: never the revoked access.
        var writer = new RelationshipService.RelationshipServiceClient(replicas.Channel(replicas.Writer.Address, TestKeys.Admin));
        var checkers = replicas.CheckReplicas.Select(r => new AuthorizationService.AuthorizationServiceClient(replicas.Channel(r.Address, TestKeys.Admin))).ToList();
        var before = await GraphAnswersAsync(replicas);
        for (var trial = 0; trial < Trials; trial++)
        {
            var checker = checkers[trial % checkers.Count];
            var granted = await writer.WriteRelationshipsAsync(Write(Update(Operation.Touch, Grant)));
            var allowed = await checker.CheckAsync(WithConsistency(zoeViewsWeb, new Consistency { AtLeast = granted.Revision }));
            var revoked = await writer.WriteRelationshipsAsync(Write(Update(Operation.Delete, Grant)));
            var denied = await checker.CheckAsync(WithConsistency(zoeViewsWeb, new Consistency { AtLeast = revoked.Revision }));
            Assert.True(allowed.Decision == Decision.Allowed, $"trial {trial}: the grant at {granted.Revision} was not seen (answered at {allowed.Revision})");
            Assert.True(denied.Decision == Decision.Denied, $"trial {trial}: revoked at {revoked.Revision}, still allowed (answered at {denied.Revision})");
        }

        // The check replicas answered them from the shared graph on the cluster, not from the database.
        var after = await GraphAnswersAsync(replicas);
        var (fromGraph, fromTruth) = (after.Graph - before.Graph, after.Truth - before.Truth);
        var trialsTook = clock.Elapsed - cases;

        // Without a token, the check replicas (which never poll the database) learn of the revoke only through the
        // invalidations published on the cluster: each must stop allowing.
        for (var trial = 0; trial < ConvergenceTrials; trial++)
        {
            await writer.WriteRelationshipsAsync(Write(Update(Operation.Touch, Grant)));
            foreach (var checker in checkers)
            {
                await UntilAsync(checker, zoeViewsWeb, Decision.Allowed);
            }

            await writer.WriteRelationshipsAsync(Write(Update(Operation.Delete, Grant)));
            foreach (var checker in checkers)
            {
                await UntilAsync(checker, zoeViewsWeb, Decision.Denied);
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"started in {started.TotalSeconds:F1} s; {validation.Management.Count} management cases in {(cases - started).TotalSeconds:F1} s; " +
            $"{Trials} revoke trials in {trialsTook.TotalSeconds:F1} s, 0 allowed; check replicas: {fromGraph} checks from the shared graph, {fromTruth} from the source of truth; " +
            $"{ConvergenceTrials} trials without a token converged; test {clock.Elapsed.TotalSeconds:F1} s"));
        Assert.True(fromGraph >= 2 * Trials * 0.99, $"{fromGraph} checks from the shared graph, {fromTruth} from the source of truth");
    }

    [Fact]
    public async Task Rebuild_OnACluster_WritesRecordsOnEveryPrimary_AndDeletesThePreviousGenerationFromEach()
    {
        await using var cluster = await RedisClusterProcess.StartAsync();
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var validation = ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", "default.yaml"));
        // Told one primary only, as clients often are: the server must find the others itself.
        await using var replicas = await ReplicaDeployment.StartAsync(validation, database, $"127.0.0.1:{cluster.Ports[0]}", checkReplicas: 0);
        var first = await KeysByPrimaryAsync(cluster);
        var generation = Assert.Single(first.SelectMany(keys => keys).Select(GenerationOf).Distinct());
        Assert.All(first, keys => Assert.Contains(keys, IsRecord));

        // A schema write: a rebuild under a new generation, then the old one deleted by a SCAN of every primary.
        var schema = new SchemaService.SchemaServiceClient(replicas.Channel(replicas.Writer.Address, TestKeys.Admin));
        var text = (await schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema + "\ndefinition ticket {\n    relation reporter: user\n    permission view = reporter\n}\n";
        await schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = text });
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var held = await KeysByPrimaryAsync(cluster);
        while (held.Any(keys => keys.Any(k => GenerationOf(k) == generation)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"keys of generation {generation} still held");
            await Task.Delay(100);
            held = await KeysByPrimaryAsync(cluster);
        }

        var rebuilt = Assert.Single(held.SelectMany(keys => keys).Select(GenerationOf).Distinct());
        Assert.NotEqual(generation, rebuilt);
        Assert.All(held, keys => Assert.Contains(keys, IsRecord));
    }

    [Fact]
    public async Task SlotsOfTheCheckedKeys_MovingBetweenPrimaries_DuringChecks_NeverAnswerWrongly_AndRedisServesAgainAfterwards()
    {
        const int Users = 8;
        const int MaxTrials = 20_000;
        const int TrialsAfter = 200;
        var pauseWhileMigrating = TimeSpan.FromMilliseconds(50);
        var clock = Stopwatch.StartNew();
        await using var cluster = await RedisClusterProcess.StartAsync();
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var validation = ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", "default.yaml"));
        await using var replicas = await ReplicaDeployment.StartAsync(validation, database, cluster.Configuration, checkReplicas: 1);
        var writer = new RelationshipService.RelationshipServiceClient(replicas.Channel(replicas.Writer.Address, TestKeys.Admin));
        var checkReplica = replicas.CheckReplicas[0];
        var checker = new AuthorizationService.AuthorizationServiceClient(replicas.Channel(checkReplica.Address, TestKeys.Admin));

        // The slots of every key the checks read — the meta hash (read by every check at a token), the project, its
        // organization, the users and their wildcard — move to the next primary and back, each held migrating a while:
        // reads meet ASK while a slot moves and MOVED afterwards.
        string[] tags = ["{meta}", "{project:web}", "{organization:acme}", "{user:*}", .. Enumerable.Range(0, Users).Select(u => $"{{user:u{u}}}")];
        var slots = new SortedSet<int>();
        foreach (var tag in tags)
        {
            slots.Add(await cluster.SlotOfAsync(tag));
        }

        var owners = new Dictionary<int, int>();
        foreach (var slot in slots)
        {
            owners[slot] = await cluster.OwnerOfAsync(slot);
        }

        var beforeMoves = await GraphAnswersAsync(replicas);
        var moving = Stopwatch.StartNew();
        var moves = Task.Run(async () =>
        {
            foreach (var slot in slots)
            {
                await cluster.MoveSlotAsync(slot, (owners[slot] + 1) % cluster.Ports.Count, pauseWhileMigrating);
            }

            foreach (var slot in slots)
            {
                await cluster.MoveSlotAsync(slot, owners[slot], pauseWhileMigrating);
            }
        });

        // The truth is what the writer last wrote for each user; every answer at the token of the latest write must be it.
        var truth = new bool[Users];
        var trials = 0;
        var wrong = new List<string>();
        while ((!moves.IsCompleted || trials == 0) && trials < MaxTrials)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "the slots did not move within 3 minutes");
            await TrialAsync(trials++);
        }

        await moves;
        var during = trials;
        var movingTook = moving.Elapsed;
        var afterMoves = await GraphAnswersAsync(replicas);

        // Afterwards the check replica serves from the shared graph again.
        await ReplicaDeployment.WaitForSharedGraphAsync(replicas.Channel(checkReplica.Address, TestKeys.Admin));
        var before = await GraphAnswersAsync(replicas);
        for (var i = 0; i < TrialsAfter; i++)
        {
            await TrialAsync(trials++);
        }

        var after = await GraphAnswersAsync(replicas);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{slots.Count} slots moved to the next primary and back in {movingTook.TotalSeconds:F1} s " +
            $"while {during} trials of 2 checks at a token ran, {wrong.Count} wrong ({afterMoves.Graph - beforeMoves.Graph} checks from the shared graph, " +
            $"{afterMoves.Truth - beforeMoves.Truth} from the source of truth); afterwards {after.Graph - before.Graph} of {2 * TrialsAfter} checks from the shared graph; test {clock.Elapsed.TotalSeconds:F1} s"));
        Assert.True(wrong.Count == 0, $"{wrong.Count} wrong answers:\n" + string.Join("\n", wrong.Take(20)));
        // The moves are invisible: the writer kept Redis current (its lock released through the redirections), so the
        // check replica answered from the shared graph during them as after them, and neither replica warned of anything.
        Assert.True(afterMoves.Graph - beforeMoves.Graph >= 2 * during * 0.99, $"while the slots moved, {afterMoves.Graph - beforeMoves.Graph} checks from the shared graph, {afterMoves.Truth - beforeMoves.Truth} from the source of truth");
        Assert.True(after.Graph - before.Graph >= 2 * TrialsAfter * 0.99, $"after the moves, {after.Graph - before.Graph} checks from the shared graph, {after.Truth - before.Truth} from the source of truth");
        foreach (var replica in new[] { replicas.Writer, checkReplica })
        {
            var warnings = replica.Output.Split('\n').Where(line => line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal)).ToList();
            Assert.True(warnings.Count == 0, $"{warnings.Count} warnings, e.g.\n{replica.Output}");
        }

        // One user's grant flipped, then it and the next user checked at the write's token against what was written.
        async Task TrialAsync(int trial)
        {
            var user = trial % Users;
            truth[user] = !truth[user];
            var relationship = $"project:web#viewer@user:u{user}";
            var written = await writer.WriteRelationshipsAsync(Write(Update(truth[user] ? Operation.Touch : Operation.Delete, relationship)));
            foreach (var checkedUser in new[] { user, (user + 1) % Users })
            {
                var answer = await checker.CheckAsync(WithConsistency(Check($"user:u{checkedUser}", "view", "project:web"), new Consistency { AtLeast = written.Revision }));
                if ((answer.Decision == Decision.Allowed) != truth[checkedUser])
                {
                    wrong.Add($"trial {trial}: user:u{checkedUser} answered {answer.Decision} at {answer.Revision} (token {written.Revision}), written {truth[checkedUser]}");
                }
            }
        }
    }

    [Fact]
    public async Task APrimaryRestartedEmpty_NeverHasItsLostRecordsReadAsEmpty_AndTheGraphIsRebuilt()
    {
        const int RoundsWhileRecovering = 5;
        await using var cluster = await RedisClusterProcess.StartAsync();
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        var validation = ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", "default.yaml"));
        await using var replicas = await ReplicaDeployment.StartAsync(validation, database, cluster.Configuration, checkReplicas: 1);
        var checkReplica = replicas.CheckReplicas[0];
        var checker = new AuthorizationService.AuthorizationServiceClient(replicas.Channel(checkReplica.Address, TestKeys.Admin));
        var token = new Consistency { AtLeast = (await replicas.RevisionAsync()).ToString(CultureInfo.InvariantCulture) };
        var wrong = new List<string>();
        await CheckAssertionsAsync("before the restart");

        // A primary other than the meta hash's (whose loss is an absent meta hash: a rebuild, as on a single server) comes
        // back empty with its slots: the records there are gone while the meta hash still names the generation.
        var metaOwner = await cluster.OwnerOfAsync(await cluster.SlotOfAsync("{meta}"));
        await cluster.RestartEmptyAsync((metaOwner + 1) % cluster.Ports.Count);
        for (var round = 0; round < RoundsWhileRecovering; round++)
        {
            await CheckAssertionsAsync($"round {round} after the restart");
        }

        await ReplicaDeployment.WaitForSharedGraphAsync(replicas.Channel(checkReplica.Address, TestKeys.Admin));
        var before = await GraphAnswersAsync(replicas);
        await CheckAssertionsAsync("once serving again");
        var after = await GraphAnswersAsync(replicas);

        var rebuilds = replicas.Writer.Output.Split('\n').Concat(checkReplica.Output.Split('\n')).Count(l => l.Contains("Rebuilt the shared graph", StringComparison.Ordinal));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{validation.Assertions.Count} assertions checked {RoundsWhileRecovering + 2} times at a token, {wrong.Count} wrong; {rebuilds} rebuilds; once serving again {after.Graph - before.Graph} of {validation.Assertions.Count} from the shared graph"));
        Assert.True(wrong.Count == 0, $"{wrong.Count} wrong answers:\n" + string.Join("\n", wrong.Take(20)));
        // The check replica met the lost records (which, read as absent, would have counted as empty) and said so.
        Assert.Contains("are missing from Redis (a primary restarted empty)", checkReplica.Output, StringComparison.Ordinal);
        Assert.True(rebuilds >= 2, $"the graph was not rebuilt after the restart ({rebuilds} rebuilds)");
        Assert.True(after.Graph - before.Graph >= validation.Assertions.Count * 0.99, $"once serving again, {after.Graph - before.Graph} checks from the shared graph, {after.Truth - before.Truth} from the source of truth");

        // Every assertion of the file (none is changed by the test), checked at the seed's token on the check replica.
        async Task CheckAssertionsAsync(string when)
        {
            foreach (var assertion in validation.Assertions)
            {
                var answer = await checker.CheckAsync(WithConsistency(
                    Check(assertion.Subject.ToString(), assertion.Permission, assertion.Resource.ToString()), token));
                if ((answer.Decision == Decision.Allowed) != assertion.Expected)
                {
                    wrong.Add($"{when}: {assertion} answered {answer.Decision} at {answer.Revision}");
                }
            }
        }
    }

    // The graph's keys each primary holds: "<prefix>:<database>:<generation>:{type:id}" records, "...:{~n}" slot markers.
    private static async Task<List<string[]>> KeysByPrimaryAsync(RedisClusterProcess cluster)
    {
        var keys = new List<string[]>();
        for (var node = 0; node < cluster.Ports.Count; node++)
        {
            var all = (await cluster.CommandAsync(node, "--scan", "--pattern", "authz:*")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            keys.Add([.. all.Where(k => !k.Split(':')[2].StartsWith('{'))]);
        }

        return keys;
    }

    private static string GenerationOf(string key) => key.Split(':')[2];

    private static bool IsRecord(string key) => key[key.IndexOf('{', StringComparison.Ordinal)..].Contains(':', StringComparison.Ordinal);

    // Polls without a token (minimize_latency), bounded: 10 s is a failure, not a measurement.
    private static async Task UntilAsync(AuthorizationService.AuthorizationServiceClient checker, CheckRequest check, Decision expected)
    {
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while ((await checker.CheckAsync(check)).Decision != expected)
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"a check replica did not answer {expected} within 10 s");
        }
    }

    // Checks the check replicas answered from the shared graph (near cache or Redis) and from the source of truth so far.
    private static async Task<(double Graph, double Truth)> GraphAnswersAsync(ReplicaDeployment replicas)
    {
        var (graph, truth) = (0.0, 0.0);
        foreach (var replica in replicas.CheckReplicas)
        {
            var scrape = await PrometheusScrape.GetAsync(replicas.MetricsOf(replica));
            graph += scrape.Find("authz_cache_checks_total", ("source", "near_cache")).Sum(s => s.Value) +
                scrape.Find("authz_cache_checks_total", ("source", "redis")).Sum(s => s.Value);
            truth += scrape.Find("authz_cache_checks_total", ("source", "source_of_truth")).Sum(s => s.Value);
        }

        return (graph, truth);
    }
}
