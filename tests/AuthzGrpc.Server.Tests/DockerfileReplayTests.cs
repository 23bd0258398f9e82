using System.Diagnostics;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The container image as <c>docker build</c> would make it, without a container engine (none can pull images here):
/// the repository's Dockerfile replayed step by step in a clean folder (<see cref="DockerfileReplay"/>) — the restore
/// layer with only the projects it lists, then <c>publish --no-restore</c> — so a project missing from the restore layer
/// fails here as it fails the image build. The published output then runs with the image's environment against a real
/// Redis, and the image's own HEALTHCHECK command judges it.
/// </summary>
public sealed class DockerfileReplayTests
{
    [Fact]
    public async Task Dockerfile_Replayed_BuildsAServerWhoseHealthCheckFollowsItAndThatAnswersChecks()
    {
        var root = Directory.CreateTempSubdirectory("authz-docker-");
        await using var redis = await RedisProcess.StartAsync();
        Process? server = null;
        try
        {
            var image = await DockerfileReplay.RunAsync(Repository.Root, root.FullName, new Dictionary<string, string>
            {
                // The aspnet base image defines the user the server runs as; here, the test's own user.
                ["APP_UID"] = await UserIdAsync(),
            });
            Assert.NotNull(image.EntryPoint);
            Assert.NotNull(image.HealthCheck);
            Assert.True(image.Environment["Authz__Storage__ConnectionString"].StartsWith($"Data Source={root.FullName}", StringComparison.Ordinal), "the database lives in the image's /data volume");

            // The image listens on every interface; the test keeps its traffic on loopback, on free ports.
            var port = ServerProcess.FreeLoopbackPort();
            image.Environment["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{port}";
            image.Environment["Authz__MetricsUrl"] = $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}";
            image.Environment["Authz__Redis__Configuration"] = redis.Configuration;

            Assert.NotEqual(0, await RunAsync(image.Start(image.HealthCheck!)));

            server = Process.Start(image.Start(image.EntryPoint!))!;
            server.OutputDataReceived += (_, _) => { };
            server.ErrorDataReceived += (_, _) => { };
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (await RunAsync(image.Start(image.HealthCheck!)) != 0)
            {
                Assert.False(server.HasExited, $"the published server exited with {(server.HasExited ? server.ExitCode : 0)}");
                Assert.True(DateTime.UtcNow < deadline, "the image's HEALTHCHECK never passed");
                await Task.Delay(500);
            }

            // The generated admin key lands beside the database, in the data volume.
            var keyFile = Path.Combine(Path.GetDirectoryName(image.Environment["Authz__Storage__ConnectionString"]["Data Source=".Length..])!, "bootstrap.key");
            using var channel = TestKeys.Channel(new Uri($"http://127.0.0.1:{port}"), (await File.ReadAllTextAsync(keyFile)).Trim());
            var client = new AuthorizationService.AuthorizationServiceClient(channel);
            Assert.Equal(Decision.Allowed, (await client.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"))).Decision);
            Assert.Equal(Decision.Denied, (await client.CheckAsync(Check("user:alex", "deploy", "application:storefront-web"))).Decision);

            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.NotEqual(0, await RunAsync(image.Start(image.HealthCheck!)));
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }

            server?.Dispose();
            root.Delete(recursive: true);
        }
    }

    private static async Task<int> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(output, error);
        return process.ExitCode;
    }

    private static async Task<string> UserIdAsync()
    {
        using var id = Process.Start(new ProcessStartInfo("id", "-u") { RedirectStandardOutput = true })!;
        var uid = (await id.StandardOutput.ReadToEndAsync()).Trim();
        await id.WaitForExitAsync();
        return uid;
    }
}
