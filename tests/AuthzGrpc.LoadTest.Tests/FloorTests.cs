using AuthzGrpc.Floor;
using AuthzGrpc.LoadTest.Scenarios;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace AuthzGrpc.LoadTest.Tests;

/// <summary>The floor server on a free loopback port, called through the generated client and by the harness.</summary>
public sealed class FloorTests
{
    [Fact]
    public async Task Floor_AllowsEveryCheckWithoutAKey_AndImplementsNothingElse()
    {
        var address = FreeAddress();
        await using var floor = await StartAsync(address);
        using var channel = GrpcChannel.ForAddress(address);
        var client = new AuthorizationService.AuthorizationServiceClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(10);

        var response = await client.CheckAsync(
            new CheckRequest
            {
                Resource = new ObjectRef { Type = "document", Id = "d1" },
                Action = "view",
                Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "u1" } },
            },
            deadline: deadline);
        var batch = await Assert.ThrowsAsync<RpcException>(async () => await client.BatchCheckAsync(new BatchCheckRequest(), deadline: deadline));

        Assert.Equal(Decision.Allowed, response.Decision);
        Assert.Equal(StatusCode.Unimplemented, batch.StatusCode);
        await floor.StopAsync();
    }

    [Fact]
    public async Task Floor_SaysHowManyBytesItHasAllocated_AndTheCountGrowsWithChecks()
    {
        var address = FreeAddress();
        await using var floor = await StartAsync(address);
        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var channel = GrpcChannel.ForAddress(address);
        var client = new AuthorizationService.AuthorizationServiceClient(channel);
        var check = new CheckRequest
        {
            Resource = new ObjectRef { Type = "document", Id = "d1" },
            Action = "view",
            Subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = "u1" } },
        };

        var before = long.Parse(await http.GetStringAsync(new Uri(address, FloorServer.AllocatedPath)), System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < 100; i++)
        {
            await client.CheckAsync(check);
        }

        var after = long.Parse(await http.GetStringAsync(new Uri(address, FloorServer.AllocatedPath)), System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(before > 0 && after - before >= 100, $"allocated {before}, then {after} after 100 checks");
        await floor.StopAsync();
    }

    [Fact]
    public async Task Harness_OpenLoopCheckHotWithoutSelfCheck_RunsCleanAgainstTheFloor()
    {
        var address = FreeAddress();
        await using var floor = await StartAsync(address);
        var settings = new RunSettings
        {
            Target = address,
            Scenario = ScenarioCatalog.CheckHot,
            Organizations = 2,
            Concurrency = 4,
            Connections = 1,
            Requests = 200,
            Warmup = 20,
            Duration = TimeSpan.FromSeconds(20),
            Rate = 2000,
            SelfCheck = false,
        };

        var summary = await new LoadRunner(settings, TextWriter.Null).RunAsync("azk_floor_" + new string('x', 32), CancellationToken.None);

        Assert.True(summary.Clean, $"errors: {ErrorCounts.Describe(summary.Errors)}, wrong answers: {summary.WrongAnswers}");
        Assert.Equal(200, summary.Latency.Count);
        await floor.StopAsync();
    }

    private static Uri FreeAddress() => new($"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}");

    private static async Task<WebApplication> StartAsync(Uri address)
    {
        var floor = FloorServer.Build([$"--Kestrel:Endpoints:Grpc:Url={address}", "--Logging:LogLevel:Default=Warning"]);
        await floor.StartAsync();
        return floor;
    }
}
