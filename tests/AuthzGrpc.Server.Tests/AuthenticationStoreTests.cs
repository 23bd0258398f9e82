using System.Security.Cryptography;
using System.Text;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>API keys against a server and database of each test's own: writes, storage, restarts and revocation.</summary>
public sealed class AuthenticationStoreTests
{
    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AdminKey_WritesSchemaAndRelationships_AndEveryWriteActsAsTheKeysSubject(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var channel = await server.ChannelForAsync("user:carol", KeyKind.Admin);
        var schema = (await server.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema;

        foreach (var method in new[] { "SchemaService/WriteSchema", "RelationshipService/WriteRelationships", "RelationshipService/DeleteRelationships" })
        {
            Assert.Equal(StatusCode.OK, (await ServiceCalls.StatusOfAsync(channel, method, schema: schema)).StatusCode);
        }

        var audit = (await server.Store.Audit.ReadAsync()).Where(e => e.Revision > 1).ToList();
        var revisions = await server.Store.Model.ReadChangesAsync(1);
        Assert.Equal(["WriteSchema", "WriteRelationships", "DeleteRelationships"], audit.Select(e => e.Operation));
        Assert.All(audit, e => Assert.Equal("user:carol", e.Actor));
        Assert.Equal(3, revisions.Count);
        Assert.All(revisions, r => Assert.Equal("user:carol", r.Actor));
        server.AssertNoErrors();
    }

    [Fact]
    public async Task Keys_AreStoredHashed_TheSecretIsNowhereInTheDatabaseFiles()
    {
        await using var database = TestDatabase.Create("sqlite");
        var folder = Path.GetDirectoryName(database.ConnectionString["Data Source=".Length..])!;
        string key;
        await using (var server = await StoreServer.StartAsync(database))
        {
            key = (await Keys(server).CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject("user:olivia"), Kind = KeyKind.Check })).Key;
            using var channel = server.ChannelWith(key);
            await new AuthorizationService.AuthorizationServiceClient(channel).CheckAsync(Check("user:olivia", "deploy", "application:storefront-web"));
        }

        // Every byte SQLite wrote: the database, its write-ahead log and shared memory.
        var bytes = Directory.GetFiles(folder).Select(File.ReadAllBytes).SelectMany(b => b).ToArray();
        var secret = TestKeys.SecretOf(key);
        Assert.Equal(-1, IndexOf(bytes, secret));
        Assert.Equal(-1, IndexOf(bytes, TestKeys.AdminSecret));
        Assert.NotEqual(-1, IndexOf(bytes, Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(secret)))));
        Assert.NotEqual(-1, IndexOf(bytes, Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(TestKeys.AdminSecret)))));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Keys_SurviveARestart_AndRevocationsToo(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        var server = await StoreServer.StartAsync(database);
        try
        {
            var kept = await Keys(server).CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject("user:olivia"), Kind = KeyKind.Check });
            var revoked = await Keys(server).CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject("user:olivia"), Kind = KeyKind.Check });
            await Keys(server).RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = revoked.ApiKey.KeyId });

            server = await server.RestartAsync();

            using var keptChannel = server.ChannelWith(kept.Key);
            using var revokedChannel = server.ChannelWith(revoked.Key);
            Assert.Equal(StatusCode.OK, (await ServiceCalls.StatusOfAsync(keptChannel, "AuthorizationService/Check")).StatusCode);
            Assert.Equal(StatusCode.Unauthenticated, (await ServiceCalls.StatusOfAsync(revokedChannel, "AuthorizationService/Check")).StatusCode);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task LastAdminKey_CannotBeRevoked_UntilAnotherExists(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);

        var refused = await Assert.ThrowsAsync<RpcException>(() => Keys(server).RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = "testadmin01" }).ResponseAsync);
        var carol = await Keys(server).CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject("user:carol"), Kind = KeyKind.Admin });
        await Keys(server).RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = "testadmin01" });

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("last valid admin key", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, (await ServiceCalls.StatusOfAsync(server.Channel, "ApiKeyService/ListApiKeys")).StatusCode);
        using var channel = server.ChannelWith(carol.Key);
        Assert.Equal(StatusCode.OK, (await ServiceCalls.StatusOfAsync(channel, "ApiKeyService/ListApiKeys")).StatusCode);
    }

    [Fact]
    public async Task KeyRevokedElsewhere_KeepsWorkingUntilItsCacheEntryExpires_ThenStops()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:Auth:KeyCacheSeconds"] = "2" });
        var created = await Keys(server).CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject("user:olivia"), Kind = KeyKind.Check });
        using var channel = server.ChannelWith(created.Key);
        Assert.Equal(StatusCode.OK, (await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check")).StatusCode);

        // As another replica would: straight in the shared database, not through this server.
        await server.Store.ApiKeys.RevokeAsync(created.ApiKey.KeyId, "user:admin");
        var cached = await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check");
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var expired = await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check");

        Assert.Equal(StatusCode.OK, cached.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, expired.StatusCode);
        Assert.Contains("was revoked", expired.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutACache_AKeyRevokedElsewhere_StopsAtOnce()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:Auth:KeyCacheSeconds"] = "0" });
        var created = await Keys(server).CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Subject("user:olivia"), Kind = KeyKind.Check });
        using var channel = server.ChannelWith(created.Key);
        Assert.Equal(StatusCode.OK, (await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check")).StatusCode);

        await server.Store.ApiKeys.RevokeAsync(created.ApiKey.KeyId, "user:admin");

        Assert.Equal(StatusCode.Unauthenticated, (await ServiceCalls.StatusOfAsync(channel, "AuthorizationService/Check")).StatusCode);
    }

    private static ApiKeyService.ApiKeyServiceClient Keys(StoreServer server) => new(server.Channel);

    private static int IndexOf(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(needle));
}
