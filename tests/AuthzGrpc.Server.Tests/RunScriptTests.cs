using System.Collections.Concurrent;
using System.Diagnostics;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// <c>scripts/run.sh</c> as the README runs it, in its own process: two instances side by side (each its own data
/// folder, port and key file) sharing the Redis the first one started; stopping the first leaves that Redis to the
/// second, stopping the second (the last to use it) stops it; <c>--start-over</c> really starts over. Ports are free loopback ports, data
/// folders temporary.
/// </summary>
public sealed class RunScriptTests
{
    [Fact]
    public async Task TwoInstances_SideBySide_ShareTheRedisTheFirstStarted_AndTheLastToStopStopsIt_AndStartOverStartsOver()
    {
        var folder = Directory.CreateTempSubdirectory("authz-run-");
        var redisPort = ServerProcess.FreeLoopbackPort();
        RunScript? first = null;
        RunScript? second = null;
        try
        {
            first = await RunScript.StartAsync(redisPort, "--data", Path.Combine(folder.FullName, "a"));
            Assert.Contains($"starting redis-server on 127.0.0.1:{redisPort}", first.Output, StringComparison.Ordinal);
            second = await RunScript.StartAsync(redisPort, "--data", Path.Combine(folder.FullName, "b"));
            Assert.DoesNotContain("starting redis-server", second.Output, StringComparison.Ordinal);
            Assert.NotEqual(first.Key, second.Key);

            // A grant through the first instance exists in its database only.
            var grant = new WriteRelationshipsRequest();
            grant.Updates.Add(new RelationshipUpdate { Operation = Operation.Touch, Relationship = Relationship("application:storefront-web#developer@user:alex") });
            await new RelationshipService.RelationshipServiceClient(first.Channel).WriteRelationshipsAsync(grant);
            Assert.Equal(Decision.Allowed, await first.CheckAsync("user:alex"));
            Assert.Equal(Decision.Denied, await second.CheckAsync("user:alex"));

            await first.StopAsync();
            Assert.Contains($"left the redis-server on 127.0.0.1:{redisPort} running", first.Output, StringComparison.Ordinal);
            Assert.Equal(Decision.Allowed, await second.CheckAsync("user:olivia"));

            await second.StopAsync();
            Assert.Contains($"stopped the redis-server run.sh started on 127.0.0.1:{redisPort}", second.Output, StringComparison.Ordinal);
            Assert.False(await Loopback.ListensAsync(redisPort), "the first instance's Redis outlived both instances");

            // Starting over: a new database (the grant is gone) and a new admin key (the old one is refused).
            var oldKey = first.Key;
            first = await RunScript.StartAsync(redisPort, "--data", Path.Combine(folder.FullName, "a"), "--start-over");
            Assert.NotEqual(oldKey, first.Key);
            Assert.Equal(Decision.Denied, await first.CheckAsync("user:alex"));
            using var oldChannel = TestKeys.Channel(first.Address, oldKey);
            var refused = await Assert.ThrowsAsync<RpcException>(() => new AuthorizationService.AuthorizationServiceClient(oldChannel)
                .CheckAsync(Check("user:olivia", "deploy", "application:storefront-web")).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            await first.StopAsync();
            Assert.Contains($"stopped the redis-server run.sh started on 127.0.0.1:{redisPort}", first.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (first is not null)
            {
                await first.DisposeAsync();
            }

            if (second is not null)
            {
                await second.DisposeAsync();
            }

            // Whatever happened above, no redis-server of this test outlives it.
            if (await Loopback.ListensAsync(redisPort))
            {
                using var shutdown = Process.Start("redis-cli", ["-h", "127.0.0.1", "-p", redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "shutdown", "nosave"]);
                await shutdown.WaitForExitAsync();
            }

            folder.Delete(recursive: true);
        }
    }


    /// <summary>One <c>scripts/run.sh</c> process, on a free gRPC port and a free metrics port.</summary>
    private sealed class RunScript : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();

        private RunScript(Process process, Uri address, string keyFile)
        {
            _process = process;
            Address = address;
            KeyFile = keyFile;
        }

        public Uri Address { get; }

        public string KeyFile { get; }

        public string Key { get; private set; } = string.Empty;

        public GrpcChannel Channel { get; private set; } = null!;

        public string Output => string.Join("\n", _output);

        public static async Task<RunScript> StartAsync(int redisPort, params string[] arguments)
        {
            var port = ServerProcess.FreeLoopbackPort();
            var start = new ProcessStartInfo("bash") { WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("scripts/run.sh");
            foreach (var argument in arguments.Concat(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--metrics-port", "0"]))
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["AUTHZ_REDIS_PORT"] = redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var name in start.Environment.Keys.Where(name => name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            {
                start.Environment.Remove(name);
            }

            var data = arguments[Array.IndexOf(arguments, "--data") + 1];
            var script = new RunScript(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"), Path.Combine(data, "bootstrap.key"));
            script._process.OutputDataReceived += (_, line) => script.Keep(line.Data);
            script._process.ErrorDataReceived += (_, line) => script.Keep(line.Data);
            script._process.BeginOutputReadLine();
            script._process.BeginErrorReadLine();

            // It builds first (up to date here: the test run built the server), then serves.
            var deadline = DateTime.UtcNow.AddMinutes(4);
            while (!File.Exists(script.KeyFile) || !script.Output.Contains("AuthzGrpc listening on", StringComparison.Ordinal))
            {
                if (script._process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"scripts/run.sh did not start the server:\n{script.Output}");
                }

                await Task.Delay(200);
            }

            script.Key = (await File.ReadAllTextAsync(script.KeyFile)).Trim();
            script.Channel = TestKeys.Channel(script.Address, script.Key);
            return script;
        }

        public async Task<Decision> CheckAsync(string subject) =>
            (await new AuthorizationService.AuthorizationServiceClient(Channel).CheckAsync(
                WithConsistency(Check(subject, "deploy", "application:storefront-web"), new Consistency { FullyConsistent = true }))).Decision;

        /// <summary>Stops it as a supervisor would (SIGTERM to the script) and waits for the script to finish.</summary>
        public async Task StopAsync()
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async ValueTask DisposeAsync()
        {
            Channel?.Dispose();
            if (!_process.HasExited)
            {
                await StopAsync();
            }

            _process.Dispose();
        }

        private void Keep(string? line)
        {
            if (line is not null)
            {
                _output.Enqueue(line);
            }
        }
    }
}
