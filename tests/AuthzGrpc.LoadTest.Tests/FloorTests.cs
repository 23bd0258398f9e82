using AuthzGrpc.Floor;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace AuthzGrpc.LoadTest.Tests;

/// <summary>The floor server on a free loopback port, called through the generated client.</summary>
public sealed class FloorTests
{
    [Fact]
    public async Task Floor_AllowsEveryCheckWithoutAKey_AndImplementsNothingElse()
    {
        var address = new Uri($"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}");
        await using var floor = FloorServer.Build([$"--Kestrel:Endpoints:Grpc:Url={address}", "--Logging:LogLevel:Default=Warning"]);
        await floor.StartAsync();
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
}
