using AuthzGrpc.Core.Model;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Key verification does the same work whatever part of the key is wrong: the work is counted (store reads, and
/// hash-and-fixed-time-compare steps), not timed. An unknown id once answered from the store every time while a real
/// id with a wrong secret answered from the cache, so the time told which key ids exist.
/// </summary>
public sealed class KeyVerificationWorkTests
{
    [Fact]
    public async Task EveryWrongKey_AndTheRightOne_TakeTheSameSteps_FirstFromTheStore_ThenFromTheCache()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var store = await database.CreateMigratedStoreAsync();
        var (valid, validId, secret) = await CreateAsync(store, "user:alice", ApiKeyKinds.Check);
        var (_, revokedId, revokedSecret) = await CreateAsync(store, "user:bob", ApiKeyKinds.Check);
        var (_, oddKindId, oddKindSecret) = await CreateAsync(store, "user:carol", "all");
        await CreateAsync(store, "user:admin", ApiKeyKinds.Admin);
        await store.ApiKeys.RevokeAsync(revokedId, "user:admin");
        var wrongSecret = secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A');
        var keys = new (string Case, string Key, bool Accepted)[]
        {
            ("the right key", valid, true),
            ("a real id, a wrong secret", $"azk_{validId}_{wrongSecret}", false),
            ("an unknown id, the right secret", $"azk_nosuchkey0001_{secret}", false),
            ("an unknown id, a wrong secret", $"azk_nosuchkey0002_{wrongSecret}", false),
            ("a revoked key", $"azk_{revokedId}_{revokedSecret}", false),
            ("a revoked id, a wrong secret", $"azk_{revokedId}_{wrongSecret}", false),
            ("a key of an unknown kind", $"azk_{oddKindId}_{oddKindSecret}", false),
        };

        var steps = new List<(string Case, string Steps)>();
        foreach (var (name, key, accepted) in keys)
        {
            // A server of its own for each (several cases share a key id): its first call reads the store.
            var authenticator = new ApiKeyAuthenticator(store.ApiKeys, Options.Create(new AuthzOptions { Auth = { KeyCacheSeconds = 30 } }), new StoppedClock());
            var first = await StepsAsync(authenticator, key, accepted);
            var second = await StepsAsync(authenticator, key, accepted);
            steps.Add((name, $"{first}; then {second}"));
        }

        // One store read, one hash and one fixed-time comparison; then from the cache, one hash and one comparison.
        Assert.All(steps, s => Assert.Equal((s.Case, "store reads 1, comparisons 1; then store reads 0, comparisons 1"), s));
    }

    // Authenticates `key` once; the work it took.
    private static async Task<string> StepsAsync(ApiKeyAuthenticator authenticator, string key, bool accepted)
    {
        var (reads, comparisons) = (authenticator.Work.StoreReads, authenticator.Work.Comparisons);
        try
        {
            await authenticator.AuthenticateAsync(key, CancellationToken.None);
            Assert.True(accepted, "a wrong key was accepted");
        }
        catch (RpcException e)
        {
            Assert.False(accepted, e.Status.Detail);
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        }

        return $"store reads {authenticator.Work.StoreReads - reads}, comparisons {authenticator.Work.Comparisons - comparisons}";
    }

    private static async Task<(string Key, string KeyId, string Secret)> CreateAsync(AuthzStore store, string subject, string kind)
    {
        var (key, keyId, hash) = ApiKeyFormat.Generate();
        await store.ApiKeys.CreateAsync(new NewApiKey(keyId, hash, SubjectRef.Parse(subject), kind, "test"), "user:admin");
        return (key, keyId, key[(key.IndexOf('_', 4) + 1)..]);
    }

    // A clock that never moves: cache entries stay fresh for the whole test.
    private sealed class StoppedClock : TimeProvider
    {
        public override long GetTimestamp() => 0;
    }
}
