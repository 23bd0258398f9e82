using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class HostingTests(ServerFixture server) : ServerTest(server)
{
    [Fact]
    public async Task Health_OverallService_IsServing()
    {
        var health = new Health.HealthClient(Server.Channel);

        var response = await health.CheckAsync(new HealthCheckRequest { Service = string.Empty });

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Reflection_ListServices_IncludesEveryService()
    {
        var reflection = new ServerReflection.ServerReflectionClient(Server.Channel);
        using var call = reflection.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Contains("authz.v1.AuthorizationService", services);
        Assert.Contains("authz.v1.SchemaService", services);
        Assert.Contains("authz.v1.RelationshipService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("Warning", 1)]
    public async Task ACheck_BeginsNoRequestLogScope_UnlessHostingDiagnosticsAreTurnedOn(string? level, int scopes)
    {
        // Off by default (AuthzServer.Defaults): the scope and its Activity cost about 1 KB per call.
        var settings = level is null ? null : new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = level };
        await using var database = TestDatabase.Create("sqlite");
        await using var store = await StoreServer.StartAsync(database, settings);
        const string category = "Microsoft.AspNetCore.Hosting.Diagnostics";
        var before = store.Logs.ScopesBegun(category);

        var response = await store.Authorization.CheckAsync(Check("user:olivia", "view", "project:storefront"));

        Assert.Equal(Decision.Allowed, response.Decision);
        Assert.Equal(scopes, store.Logs.ScopesBegun(category) - before);
    }

    [Fact]
    public void Server_ListensOnLoopback()
    {
        Assert.Equal("127.0.0.1", Server.Address.Host);
        Assert.NotEqual(0, Server.Address.Port);
    }

    [Fact]
    public async Task Watch_MalformedAfterRevision_IsInvalidArgument()
    {
        using var call = Client.Watch(new WatchRequest { AfterRevision = "yesterday" });

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Startup_LogsModelAndListenAddress()
    {
        // Any check first, so the server has certainly finished starting.
        await Client.CheckAsync(Check("user:devon", "view", "project:storefront"));

        var events = Server.Logs.Since(0).Select(e => e.EventId.Name).ToList();

        Assert.Contains("StorageOpened", events);
        Assert.Contains("SchemaLoaded", events);
        Assert.Contains("RelationshipsLoaded", events);
        Assert.Contains("StorageSeeded", events);
        Assert.Contains("ModelLoadedFromStorage", events);
        Assert.Contains("Listening", events);
    }
}
