using System.Security.Cryptography;
using System.Text;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Tests;

/// <summary>The key format, the kind policy, the caller on the call, and the key cache, without a server.</summary>
public sealed class AuthenticationUnitTests
{
    [Fact]
    public void Generate_MakesDistinctKeysOfTheDocumentedShape_WhoseHashIsTheSha256OfTheSecret()
    {
        var (key, keyId, hash) = ApiKeyFormat.Generate();
        var (other, otherId, _) = ApiKeyFormat.Generate();

        Assert.Matches("^azk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$", key);
        Assert.NotEqual(key, other);
        Assert.NotEqual(keyId, otherId);
        Assert.True(ApiKeyFormat.TryParse(key, out var parsedId, out var secret));
        Assert.Equal(keyId, parsedId);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(secret.ToString()))), hash);
        Assert.True(ApiKeyFormat.Matches(secret, Convert.FromHexString(hash)));
        Assert.False(ApiKeyFormat.Matches(secret[..^1].ToString() + "x", Convert.FromHexString(hash)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("azk_")]
    [InlineData("azk__" + "0123456789abcdef0123456789abcdef")]
    [InlineData("azk_id")]
    [InlineData("azk_id_0123456789abcdef0123456789abcde")]                 // 31: too short a secret
    [InlineData("AZK_id_0123456789abcdef0123456789abcdef")]
    [InlineData("azk_i.d_0123456789abcdef0123456789abcdef")]
    [InlineData("azk_id_0123456789abcdef0123456789abcdef=")]
    [InlineData("azk_0123456789abcdef0123456789abcdefg_0123456789abcdef0123456789abcdef")] // a 33-character id
    public void TryParse_Malformed_IsFalse(string key) => Assert.False(ApiKeyFormat.TryParse(key, out _, out _));

    [Fact]
    public void TryParse_SecretsMayHoldUnderscores_TheIdEndsAtTheFirst()
    {
        Assert.True(ApiKeyFormat.TryParse("azk_abc123_0123456789_bcdef-0123456789abcdef_", out var keyId, out var secret));

        Assert.Equal("abc123", keyId);
        Assert.Equal("0123456789_bcdef-0123456789abcdef_", secret.ToString());
    }

    [Theory]
    [InlineData(ApiKeyKind.Check, "authz.v1.AuthorizationService", true)]
    [InlineData(ApiKeyKind.Check, "authz.v1.ManagementService", false)]
    [InlineData(ApiKeyKind.Check, "authz.v1.SchemaService", false)]
    [InlineData(ApiKeyKind.Check, "authz.v1.RelationshipService", false)]
    [InlineData(ApiKeyKind.Check, "authz.v1.ApiKeyService", false)]
    [InlineData(ApiKeyKind.Management, "authz.v1.AuthorizationService", true)]
    [InlineData(ApiKeyKind.Management, "authz.v1.ManagementService", true)]
    [InlineData(ApiKeyKind.Management, "authz.v1.SchemaService", false)]
    [InlineData(ApiKeyKind.Management, "authz.v1.RelationshipService", false)]
    [InlineData(ApiKeyKind.Management, "authz.v1.ApiKeyService", false)]
    [InlineData(ApiKeyKind.Management, "authz.v1.SomeFutureService", false)]
    [InlineData(ApiKeyKind.Admin, "authz.v1.SchemaService", true)]
    [InlineData(ApiKeyKind.Admin, "authz.v1.ApiKeyService", true)]
    [InlineData(ApiKeyKind.Admin, "authz.v1.SomeFutureService", true)]
    public void Policy_KindAndService_DecideTheCall(ApiKeyKind kind, string service, bool allowed) =>
        Assert.Equal(allowed, ApiKeyPolicy.Allows(kind, ApiKeyPolicy.ServiceOf($"/{service}/AnyMethod")));

    [Theory]
    [InlineData("/grpc.health.v1.Health/Check", true)]
    [InlineData("/grpc.health.v1.Health/Watch", true)]
    [InlineData("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", true)]
    [InlineData("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", true)]
    [InlineData("/authz.v1.AuthorizationService/Check", false)]
    [InlineData("/grpc.health.v1.HealthX/Check", false)]
    public void OnlyHealthAndReflection_ArePublic(string method, bool isPublic) =>
        Assert.Equal(isPublic, AuthenticationInterceptor.IsPublic(method));

    [Fact]
    public void GetCaller_OfAnUnauthenticatedCall_IsUnauthenticated_AndCallActorIsTheCallersSubject()
    {
        var context = new TestServerCallContext("/authz.v1.SchemaService/WriteSchema");

        var error = Assert.Throws<RpcException>(() => context.GetCaller());
        context.SetCaller(new Caller(new SubjectRef("user", "alice"), ApiKeyKind.Admin, "abc"));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(new Caller(new SubjectRef("user", "alice"), ApiKeyKind.Admin, "abc"), context.GetCaller());
        Assert.Equal("user:alice", CallActor.Of(context));
    }

    [Fact]
    public async Task Cache_ServesAVerifiedKeyWithoutTheDatabase_UntilItExpires_AndInvalidateDropsItAtOnce()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var store = await database.CreateMigratedStoreAsync();
        var time = new ManualTime();
        var authenticator = new ApiKeyAuthenticator(store.ApiKeys, Options.Create(new AuthzOptions { Auth = { KeyCacheSeconds = 30 } }), time);
        var (first, firstId) = await CreateAsync(store, "user:alice");
        var (second, secondId) = await CreateAsync(store, "user:bob");
        await CreateAsync(store, "user:admin", ApiKeyKinds.Admin); // so that the others may be revoked

        var caller = await authenticator.AuthenticateAsync(first, CancellationToken.None);
        await authenticator.AuthenticateAsync(second, CancellationToken.None);
        await store.ApiKeys.RevokeAsync(firstId, "user:admin");
        await store.ApiKeys.RevokeAsync(secondId, "user:admin");

        // Cached: answered synchronously, from memory, although both are revoked in the database.
        Assert.Equal(caller, Synchronously(authenticator.AuthenticateAsync(first, CancellationToken.None)));
        Assert.Equal(new Caller(new SubjectRef("user", "alice"), ApiKeyKind.Check, firstId), caller);

        // A wrong secret for a cached id is still refused.
        var wrong = first[..^1] + (first[^1] == 'A' ? 'B' : 'A');
        Assert.Equal(StatusCode.Unauthenticated, Assert.Throws<RpcException>(() => Synchronously(authenticator.AuthenticateAsync(wrong, CancellationToken.None))).StatusCode);

        // Revoked through this server: at once.
        authenticator.Invalidate(secondId);
        var revoked = await Assert.ThrowsAsync<RpcException>(() => authenticator.AuthenticateAsync(second, CancellationToken.None).AsTask());
        Assert.Contains("was revoked", revoked.Status.Detail, StringComparison.Ordinal);

        // Revoked elsewhere: once the entry is older than the cache time.
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(caller, Synchronously(authenticator.AuthenticateAsync(first, CancellationToken.None)));
        time.Advance(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<RpcException>(() => authenticator.AuthenticateAsync(first, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task Cache_AnUnknownKind_AuthenticatesNothing()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var store = await database.CreateMigratedStoreAsync();
        var authenticator = new ApiKeyAuthenticator(store.ApiKeys, Options.Create(new AuthzOptions()), new ManualTime());
        var (key, _) = await CreateAsync(store, "user:alice", "all");

        var error = await Assert.ThrowsAsync<RpcException>(() => authenticator.AuthenticateAsync(key, CancellationToken.None).AsTask());

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    private static async Task<(string Key, string KeyId)> CreateAsync(AuthzStore store, string subject, string kind = ApiKeyKinds.Check)
    {
        var (key, keyId, hash) = ApiKeyFormat.Generate();
        await store.ApiKeys.CreateAsync(new NewApiKey(keyId, hash, SubjectRef.Parse(subject), kind, "test"), "user:admin");
        return (key, keyId);
    }

    // The caller of an authentication that must have completed synchronously (from the cache), without blocking.
    private static Caller Synchronously(ValueTask<Caller> pending) =>
        pending.IsCompletedSuccessfully ? pending.Result : throw new InvalidOperationException("not answered from the cache");

    // A clock that moves only when told.
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
