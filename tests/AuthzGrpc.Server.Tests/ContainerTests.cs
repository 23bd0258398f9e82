using System.Diagnostics;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The container image as <c>docker build</c> would make it, and the compose stack, without a container engine (none
/// can pull images here). <see cref="ImageFixture"/> replays the repository's Dockerfile step by step in a clean folder
/// (<see cref="DockerfileReplay"/>) — the restore layer with only the projects it lists, then
/// <c>publish --no-restore</c> — so a project missing from the restore layer fails here as it fails the image build.
/// The published output then runs with the image's environment, judged by the image's own HEALTHCHECK, and
/// docker-compose.yml is replayed around it (<see cref="ComposeReplay"/>): Redis, PostgreSQL, two replicas, nginx.
/// </summary>
public sealed class ContainerTests(ContainerTests.ImageFixture image) : IClassFixture<ContainerTests.ImageFixture>
{
    [Fact]
    public async Task Image_RunsWithItsEnvironment_ItsHealthCheckFollowsTheServer_AndItAnswersChecks()
    {
        var replay = image.Replay;
        Assert.True(replay.Environment["Authz__Storage__ConnectionString"].StartsWith($"Data Source={image.Root}", StringComparison.Ordinal), "the database lives in the image's /data volume");
        await using var redis = await RedisProcess.StartAsync();

        // The image listens on every interface; the test keeps its traffic on loopback, on free ports.
        var port = ServerProcess.FreeLoopbackPort();
        var environment = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{port}",
            ["Authz__MetricsUrl"] = $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}",
            ["Authz__Redis__Configuration"] = redis.Configuration,
        };
        Assert.NotEqual(0, await ChildProcess.ExitCodeAsync(Start(replay.HealthCheck!, environment), TimeSpan.FromSeconds(30)));

        using var server = Process.Start(Start(replay.EntryPoint!, environment))!;
        try
        {
            server.OutputDataReceived += (_, _) => { };
            server.ErrorDataReceived += (_, _) => { };
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (await ChildProcess.ExitCodeAsync(Start(replay.HealthCheck!, environment), TimeSpan.FromSeconds(30)) != 0)
            {
                Assert.False(server.HasExited, $"the published server exited with {(server.HasExited ? server.ExitCode : 0)}");
                Assert.True(DateTime.UtcNow < deadline, "the image's HEALTHCHECK never passed");
                await Task.Delay(500);
            }

            // The generated admin key lands beside the database, in the data volume.
            var database = replay.Environment["Authz__Storage__ConnectionString"]["Data Source=".Length..];
            var key = (await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(database)!, "bootstrap.key"))).Trim();
            using var channel = TestKeys.Channel(new Uri($"http://127.0.0.1:{port}"), key);
            var client = new AuthorizationService.AuthorizationServiceClient(channel);
            Assert.Equal(Decision.Allowed, (await client.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"))).Decision);
            Assert.Equal(Decision.Denied, (await client.CheckAsync(Check("user:alex", "deploy", "application:storefront-web"))).Decision);

            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.NotEqual(0, await ChildProcess.ExitCodeAsync(Start(replay.HealthCheck!, environment), TimeSpan.FromSeconds(30)));
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
    }

    [Fact]
    public async Task ComposeStack_TwoReplicasBehindOnePort_ShareTheirWrites_AndSurviveLosingOne()
    {
        const string Key = "azk_composetest1_" + "Compose-Stack_Bootstrap-Secret-Of-The-Test";
        await using var stack = await ComposeReplay.UpAsync(Path.Combine(Repository.Root, "docker-compose.yml"), image.Replay,
            new Dictionary<string, string> { ["AUTHZ_BOOTSTRAP_KEY"] = Key });
        using var proxy = TestKeys.Channel(new Uri($"http://127.0.0.1:{stack.PortOf("proxy", 50051)}"), Key);
        var authorization = new AuthorizationService.AuthorizationServiceClient(proxy);
        Assert.Equal(Decision.Allowed, (await authorization.CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"))).Decision);

        // A write through the one port is seen at its token by whichever replica answers, and by each directly.
        var grant = new WriteRelationshipsRequest();
        grant.Updates.Add(new RelationshipUpdate { Operation = Operation.Touch, Relationship = Relationship("application:storefront-web#developer@user:alex") });
        var token = (await new RelationshipService.RelationshipServiceClient(proxy).WriteRelationshipsAsync(grant)).Revision;
        var atToken = WithConsistency(Check("user:alex", "deploy", "application:storefront-web"), new Consistency { AtLeast = token });
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(Decision.Allowed, (await authorization.CheckAsync(atToken)).Decision);
        }

        foreach (var replica in new[] { "authz-1", "authz-2" })
        {
            using var direct = TestKeys.Channel(new Uri($"http://127.0.0.1:{stack.PortOf(replica, 50051)}"), Key);
            Assert.Equal(Decision.Allowed, (await new AuthorizationService.AuthorizationServiceClient(direct).CheckAsync(atToken)).Decision);
        }

        // One replica gone: the port still answers, from the other.
        await stack.KillAsync("authz-1");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(Decision.Allowed, (await authorization.CheckAsync(atToken, deadline: DateTime.UtcNow.AddSeconds(10))).Decision);
        }
    }

    private ProcessStartInfo Start(IReadOnlyList<string> command, Dictionary<string, string> environment)
    {
        var start = image.Replay.Start(command);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return start;
    }


    /// <summary>The Dockerfile replayed once for the class: the build stage's restore and publish, the runtime stage's files.</summary>
    public sealed class ImageFixture : IAsyncLifetime
    {
        private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("authz-docker-");

        /// <summary>The folder the stages were replayed under.</summary>
        public string Root => _root.FullName;

        /// <summary>The replayed image.</summary>
        public DockerfileReplay Replay { get; private set; } = null!;

        /// <inheritdoc/>
        public async Task InitializeAsync()
        {
            // The aspnet base image defines the user the server runs as (APP_UID); here, the test's own user.
            using var id = Process.Start(new ProcessStartInfo("id", "-u") { RedirectStandardOutput = true })!;
            var uid = (await id.StandardOutput.ReadToEndAsync()).Trim();
            await id.WaitForExitAsync();
            Replay = await DockerfileReplay.RunAsync(Repository.Root, Root, new Dictionary<string, string> { ["APP_UID"] = uid });
            Assert.NotNull(Replay.EntryPoint);
            Assert.NotNull(Replay.HealthCheck);
        }

        /// <inheritdoc/>
        public Task DisposeAsync()
        {
            _root.Delete(recursive: true);
            return Task.CompletedTask;
        }
    }
}
