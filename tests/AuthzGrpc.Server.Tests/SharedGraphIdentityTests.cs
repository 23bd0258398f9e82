using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Health.V1;
using Grpc.Net.Client;
using StackExchange.Redis;
using Xunit.Abstractions;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The shared graph is bound to its database, with server processes, SQLite files and a redis-server of the test's
/// own: a database deleted and created again, another deployment's database on the same Redis, a database restored
/// from a backup — each is served from a graph built from its own history, never from a graph Redis holds for
/// another; and another model on the same database is another generation.
/// </summary>
public sealed partial class SharedGraphIdentityTests(ITestOutputHelper output)
{
    private const string ZoeGrant = "project:storefront#viewer@user:zoe";
    private const string YanGrant = "project:storefront#viewer@user:yan";
    private const string XenaGrant = "project:storefront#viewer@user:xena";
    private const string Rebuilt = "Rebuilt the shared graph in Redis";
    private static readonly CheckRequest ZoeViews = Check("user:zoe", "view", "project:storefront");
    private static readonly CheckRequest YanViews = Check("user:yan", "view", "project:storefront");
    private static readonly CheckRequest XenaViews = Check("user:xena", "view", "project:storefront");

    [Fact]
    public async Task DatabaseDeletedAndStartedAgain_WithRedisKept_IsServedItsOwnGraph_NotTheDeletedOnes()
    {
        // The README's reset: stop the server, delete .data/, start again — while the local redis-server keeps running.
        await using var redis = await RedisProcess.StartAsync();
        var folder = Directory.CreateTempSubdirectory("authz-reset-");
        try
        {
            var database = Path.Combine(folder.FullName, ".data", "authz.db");
            await using (var first = await Replica.StartAsync(database, redis))
            {
                // A grant, then more revisions: Redis ends ahead of a new database's seed revision (1).
                var granted = await first.WriteAsync(Operation.Touch, ZoeGrant);
                for (var i = 0; i < 4; i++)
                {
                    await first.WriteAsync(i % 2 == 0 ? Operation.Touch : Operation.Delete, "project:storefront#viewer@user:temp");
                }

                Assert.Equal(Decision.Allowed, (await first.CheckAsync(ZoeViews, granted)).Decision);
            }

            Directory.Delete(Path.Combine(folder.FullName, ".data"), recursive: true);
            await using var second = await Replica.StartAsync(database, redis);
            await second.UntilGraphServesAsync();

            // The grant existed only in the deleted database.
            var fromGraph = await second.ChecksFromGraphAsync();
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(Decision.Denied, (await second.CheckAsync(ZoeViews)).Decision);
                Assert.Equal(Decision.Denied, (await second.CheckAsync(ZoeViews, "1")).Decision);
            }

            // A new write is seen, at its token and without one.
            var yan = await second.WriteAsync(Operation.Touch, YanGrant);
            Assert.Equal(Decision.Allowed, (await second.CheckAsync(YanViews, yan)).Decision);
            await second.UntilAsync(YanViews, Decision.Allowed);
            var served = await second.ChecksFromGraphAsync() - fromGraph;
            output.WriteLine($"{served} checks of the second server answered from the shared graph");
            Assert.True(served >= 20, $"only {served} of 42 checks were answered from the shared graph");
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await second.GraphHealthAsync());
            Assert.Matches(@"Rebuilt the shared graph in Redis: \d+ records at revision 1,", second.Output);
            Assert.DoesNotContain("fresh at revision 6", second.Output, StringComparison.Ordinal);

            // Two namespaces in Redis: the deleted database's (never read again) and the new one's.
            Assert.Equal(2, MetaKeys(redis).Count);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TwoDeployments_DifferentDatabasesAndModels_OneRedis_EachServedItsOwnGraph_RebuiltOnceEach()
    {
        await using var redis = await RedisProcess.StartAsync();
        var folder = Directory.CreateTempSubdirectory("authz-deployments-");
        try
        {
            await using var a = await Replica.StartAsync(Path.Combine(folder.FullName, "a", "authz.db"), redis);
            await using var b = await Replica.StartAsync(
                Path.Combine(folder.FullName, "b", "authz.db"), redis, "--Authz:SchemaFile=models/000-account-roles.zed", "--Authz:RelationshipsFile=");
            await a.UntilGraphServesAsync();
            await b.UntilGraphServesAsync();
            var aBefore = await a.ChecksFromGraphAsync();
            var bBefore = await b.ChecksFromGraphAsync();
            var zoeEdits = Check("user:zoe", "edit_account_info", "account:acme");

            // Both write and check, interleaved: each write goes through to Redis and publishes an invalidation.
            const int Rounds = 20;
            for (var round = 0; round < Rounds; round++)
            {
                var operation = round % 2 == 0 ? Operation.Touch : Operation.Delete;
                var expected = round % 2 == 0 ? Decision.Allowed : Decision.Denied;
                var aToken = await a.WriteAsync(operation, ZoeGrant);
                var bToken = await b.WriteAsync(operation, "account:acme#owner@user:zoe");
                Assert.Equal(expected, (await a.CheckAsync(ZoeViews, aToken)).Decision);
                Assert.Equal(expected, (await b.CheckAsync(zoeEdits, bToken)).Decision);
                Assert.Equal(expected, (await a.CheckAsync(ZoeViews)).Decision);
                Assert.Equal(expected, (await b.CheckAsync(zoeEdits)).Decision);
                Assert.Equal(Decision.Denied, (await a.CheckAsync(YanViews)).Decision);
            }

            var aServed = await a.ChecksFromGraphAsync() - aBefore;
            var bServed = await b.ChecksFromGraphAsync() - bBefore;
            var aRebuilds = Count(a.Output, Rebuilt);
            var bRebuilds = Count(b.Output, Rebuilt);
            output.WriteLine($"A: {aServed} of {3 * Rounds} checks from the graph, {aRebuilds} rebuilds; B: {bServed} of {2 * Rounds}, {bRebuilds} rebuilds");
            Assert.True(aServed >= 3 * Rounds / 2, $"A answered {aServed} checks from the graph");
            Assert.True(bServed >= 2 * Rounds / 2, $"B answered {bServed} checks from the graph");

            // Each built its graph once, at start: neither's writes nor invalidations made the other rebuild.
            Assert.Equal(1, aRebuilds);
            Assert.Equal(1, bRebuilds);
            Assert.Equal(2, MetaKeys(redis).Count);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task RestoredBackup_IsServedFromItsOwnHistory_NeverFromTheNewerGraphInRedis()
    {
        await using var redis = await RedisProcess.StartAsync();
        var folder = Directory.CreateTempSubdirectory("authz-restore-");
        try
        {
            var database = Path.Combine(folder.FullName, "data", "authz.db");
            var backup = Path.Combine(folder.FullName, "backup");
            await using (var server = await Replica.StartAsync(database, redis))
            {
                await server.WriteAsync(Operation.Touch, ZoeGrant);
            }

            CopyDatabase(database, backup);

            // After the backup: yan granted, zoe revoked; Redis's graph holds that history.
            await using (var server = await Replica.StartAsync(database, redis))
            {
                await server.WriteAsync(Operation.Touch, YanGrant);
                var revoked = await server.WriteAsync(Operation.Delete, ZoeGrant);
                Assert.Equal(Decision.Denied, (await server.CheckAsync(ZoeViews, revoked)).Decision);
            }

            // Restored, then written on without Redis up to the very revision Redis holds (4): the same revision number,
            // another history — told apart by the revision's marker.
            RestoreDatabase(backup, database);
            await using (var offline = await Replica.StartAsync(database, redis: null))
            {
                await offline.WriteAsync(Operation.Touch, XenaGrant);
                Assert.Equal("4", await offline.WriteAsync(Operation.Touch, "project:storefront#viewer@user:temp"));
            }

            await using (var server = await Replica.StartAsync(database, redis))
            {
                await server.UntilGraphServesAsync();
                await server.AssertServedAsync([(ZoeViews, Decision.Allowed), (YanViews, Decision.Denied), (XenaViews, Decision.Allowed)]);
                Assert.Contains("was not built from this database's history", server.Output, StringComparison.Ordinal);
            }

            // Restored again: now Redis is ahead of the database (4 against 2).
            RestoreDatabase(backup, database);
            await using (var server = await Replica.StartAsync(database, redis))
            {
                await server.UntilGraphServesAsync();
                await server.AssertServedAsync([(ZoeViews, Decision.Allowed), (YanViews, Decision.Denied), (XenaViews, Decision.Denied)]);
                Assert.Contains("was not built from this database's history", server.Output, StringComparison.Ordinal);
                var yan = await server.WriteAsync(Operation.Touch, YanGrant);
                Assert.Equal(Decision.Allowed, (await server.CheckAsync(YanViews, yan)).Decision);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AnotherModel_OnTheSameDatabase_IsANewGeneration_WhoseAnswersFollowIt()
    {
        await using var redis = await RedisProcess.StartAsync();
        var folder = Directory.CreateTempSubdirectory("authz-model-");
        try
        {
            await using var server = await Replica.StartAsync(Path.Combine(folder.FullName, "authz.db"), redis);
            await server.UntilGraphServesAsync();
            var granted = await server.WriteAsync(Operation.Touch, ZoeGrant);
            Assert.Equal(Decision.Allowed, (await server.CheckAsync(ZoeViews, granted)).Decision);
            var before = (string)Meta(redis)["gen"]!;

            // The same database, another model: a project's viewers no longer view it.
            var schemas = new SchemaService.SchemaServiceClient(server.Channel);
            var text = (await schemas.ReadSchemaAsync(new ReadSchemaRequest())).Schema;
            var changed = ViewOfViewers().Replace(text, "permission view = contribute +", 1);
            Assert.NotEqual(text, changed);
            var written = (await schemas.WriteSchemaAsync(new WriteSchemaRequest { Schema = changed })).Revision;

            var fromGraph = await server.ChecksFromGraphAsync();
            Assert.Equal(Decision.Denied, (await server.CheckAsync(ZoeViews, written)).Decision);
            await server.UntilAsync(ZoeViews, Decision.Denied);
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(Decision.Denied, (await server.CheckAsync(ZoeViews)).Decision);
            }

            Assert.True(await server.ChecksFromGraphAsync() - fromGraph >= 5, "the new model's graph did not answer");
            var after = (string)Meta(redis)["gen"]!;
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(changed)))[..12];
            output.WriteLine($"generation {before} -> {after}");
            Assert.StartsWith(hash + ".", after, StringComparison.Ordinal);
            Assert.False(before.StartsWith(hash, StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"permission view = contribute \+ viewer \+")]
    private static partial Regex ViewOfViewers();

    private static int Count(string text, string what) => Regex.Count(text, Regex.Escape(what));

    // The meta hashes of every database's graph in Redis (one key per database identity).
    private static List<RedisKey> MetaKeys(RedisProcess redis)
    {
        using var connection = ConnectionMultiplexer.Connect(redis.Configuration);
        return [.. connection.GetServer(connection.GetEndPoints()[0]).Keys(pattern: "authz:*:{meta}")];
    }

    private static Dictionary<string, string?> Meta(RedisProcess redis)
    {
        using var connection = ConnectionMultiplexer.Connect(redis.Configuration);
        var key = Assert.Single(connection.GetServer(connection.GetEndPoints()[0]).Keys(pattern: "authz:*:{meta}"));
        return connection.GetDatabase().HashGetAll(key).ToDictionary(e => (string)e.Name!, e => (string?)e.Value);
    }

    // A copy of the SQLite file as a stopped server left it: the database and its write-ahead log.
    private static void CopyDatabase(string database, string backup)
    {
        Directory.CreateDirectory(backup);
        foreach (var suffix in new[] { string.Empty, "-wal" })
        {
            if (File.Exists(database + suffix))
            {
                File.Copy(database + suffix, Path.Combine(backup, "authz.db" + suffix), overwrite: true);
            }
        }
    }

    private static void RestoreDatabase(string backup, string database)
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(database + suffix);
            var saved = Path.Combine(backup, "authz.db" + suffix);
            if (File.Exists(saved))
            {
                File.Copy(saved, database + suffix);
            }
        }
    }

    /// <summary>A server process on a SQLite file of the test's choosing, with the shared graph in <c>redis</c> (or none).</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private readonly ServerProcess _process;
        private readonly GrpcChannel _channel;
        private readonly Uri _metrics;

        private Replica(ServerProcess process, Uri metrics)
        {
            _process = process;
            _metrics = metrics;
            _channel = TestKeys.Channel(process.Address, TestKeys.Admin);
        }

        public GrpcChannel Channel => _channel;

        public string Output => _process.Output;

        public static async Task<Replica> StartAsync(string database, RedisProcess? redis, params string[] arguments)
        {
            var metrics = new Uri($"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}");
            List<string> all =
            [
                $"--Authz:Storage:ConnectionString=Data Source={database}",
                $"--Authz:Auth:BootstrapKey={TestKeys.Admin}",
                "--Authz:SyncIntervalMilliseconds=100",
                $"--Authz:MetricsUrl={metrics}",
                // Generous for a busy 2-core machine: the tests count how checks were answered.
                "--Authz:Redis:TimeoutMilliseconds=3000",
                .. arguments,
            ];
            if (redis is not null)
            {
                all.Add($"--Authz:Redis:Configuration={redis.Configuration}");
            }

            return new Replica(await ServerProcess.StartAsync([.. all]), metrics);
        }

        public async Task<string> WriteAsync(Operation operation, string relationship) =>
            (await new RelationshipService.RelationshipServiceClient(_channel).WriteRelationshipsAsync(Write(Update(operation, relationship)))).Revision;

        public async Task<CheckResponse> CheckAsync(CheckRequest request, string? atLeast = null) =>
            await new AuthorizationService.AuthorizationServiceClient(_channel)
                .CheckAsync(atLeast is null ? request : WithConsistency(request, new Consistency { AtLeast = atLeast }));

        // Checks answered from the near cache or Redis so far.
        public async Task<double> ChecksFromGraphAsync()
        {
            var scrape = await PrometheusScrape.GetAsync(_metrics);
            return scrape.Find("authz_cache_checks_total", ("source", "near_cache")).Sum(s => s.Value) +
                scrape.Find("authz_cache_checks_total", ("source", "redis")).Sum(s => s.Value);
        }

        public async Task<HealthCheckResponse.Types.ServingStatus> GraphHealthAsync() =>
            (await new Health.HealthClient(_channel).CheckAsync(new HealthCheckRequest { Service = "authz.v1.SharedGraph" })).Status;

        // Until the near cache is on — the server logs it: it found a graph of its own, or built one — bounded: 30 s is a
        // failure.
        public async Task UntilGraphServesAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!Output.Contains("Serving checks from the shared graph", StringComparison.Ordinal) && !Output.Contains(Rebuilt, StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the shared graph did not serve within 30 s:\n{Output}");
                await Task.Delay(50);
            }
        }

        // Polls without a token (minimize_latency), bounded: 10 s is a failure, not a measurement.
        public async Task UntilAsync(CheckRequest request, Decision expected)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((await CheckAsync(request)).Decision != expected)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{request} did not answer {expected} within 10 s");
                await Task.Delay(20);
            }
        }

        // Every answer as expected, several times over (the first fetches from Redis, the next are near-cache hits),
        // and most of them from the shared graph.
        public async Task AssertServedAsync(IReadOnlyList<(CheckRequest Request, Decision Expected)> cases)
        {
            var before = await ChecksFromGraphAsync();
            for (var i = 0; i < 5; i++)
            {
                foreach (var (request, expected) in cases)
                {
                    Assert.True(expected == (await CheckAsync(request)).Decision, $"{request}: expected {expected} (round {i + 1} of 5); the server said:\n{Output}");
                }
            }

            var served = await ChecksFromGraphAsync() - before;
            Assert.True(served >= 5 * cases.Count / 2, $"only {served} of {5 * cases.Count} checks were answered from the shared graph");
        }

        public async ValueTask DisposeAsync()
        {
            _channel.Dispose();
            await _process.DisposeAsync();
        }
    }
}
