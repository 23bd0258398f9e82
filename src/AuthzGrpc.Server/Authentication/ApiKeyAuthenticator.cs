using System.Collections.Concurrent;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Authentication;

/// <summary>
/// Verifies API keys against the store, keeping what it read in memory for <see cref="AuthOptions.KeyCacheSeconds"/>
/// (30 s by default) so that a Check does not reach the database: a cached key costs one SHA-256 of the presented
/// secret and a constant-time compare. What is cached is the stored hash, never the secret, so a wrong secret for a
/// cached key id is still refused.
/// <para>
/// Revocation: revoking through this server (<see cref="Invalidate"/>) takes effect on its next call; a key revoked
/// elsewhere (another replica, or the database directly) stops working here once its cache entry is older than the
/// cache time. Unknown key ids are not cached (every such call reads the database), so a key created elsewhere works
/// at once.
/// </para>
/// </summary>
internal sealed class ApiKeyAuthenticator(AuthzStore store, IOptions<AuthzOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private readonly long _ttl = (long)(options.Value.Auth.KeyCacheSeconds * (double)time.TimestampFrequency);

    // Bumped by every invalidation: a load that raced with one drops what it read (it may predate the change).
    private long _generation;

    /// <summary>
    /// The caller <paramref name="key"/> (<c>azk_&lt;id&gt;_&lt;secret&gt;</c>) authenticates; throws <see cref="RpcException"/>
    /// UNAUTHENTICATED for a malformed, unknown, wrong or revoked key. Completes synchronously for a cached key.
    /// </summary>
    public ValueTask<Caller> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeyFormat.TryParse(key, out var keyId, out var secret))
        {
            throw Unauthenticated("the API key is malformed (expected azk_<id>_<secret>)");
        }

        if (_cache.TryGetValue(keyId, out var entry) && time.GetTimestamp() < entry.FreshUntil)
        {
            return ValueTask.FromResult(Verify(keyId, entry, secret));
        }

        return LoadAsync(key, keyId, cancellationToken);
    }

    /// <summary>Forgets what is cached about <paramref name="keyId"/>: its next use reads the store.</summary>
    public void Invalidate(string keyId)
    {
        Interlocked.Increment(ref _generation);
        _cache.TryRemove(keyId, out _);
    }

    internal static RpcException Unauthenticated(string problem) =>
        new(new Status(StatusCode.Unauthenticated, ApiKeyFormat.SendKeyHint(problem)));

    private async ValueTask<Caller> LoadAsync(string key, string keyId, CancellationToken cancellationToken)
    {
        var generation = Volatile.Read(ref _generation);
        var stored = await store.FindApiKeyAsync(keyId, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            throw Unauthenticated("the API key is not valid (unknown key or wrong secret)");
        }

        var entry = new Entry(
            Convert.FromHexString(stored.KeyHash),
            ApiKeyFormat.TryParseKind(stored.Kind, out var kind) ? new Caller(stored.Subject, kind, stored.Id, stored.Email) : null,
            stored.RevokedAt is not null,
            time.GetTimestamp() + _ttl);
        if (_ttl > 0)
        {
            _cache[keyId] = entry;
            if (Volatile.Read(ref _generation) != generation)
            {
                // An invalidation ran while this was read: what was read may be older than it.
                _cache.TryRemove(KeyValuePair.Create(keyId, entry));
            }
        }

        // Parsed before (a span cannot live across the await): cannot fail.
        return ApiKeyFormat.TryParse(key, out _, out var secret)
            ? Verify(keyId, entry, secret)
            : throw Unauthenticated("the API key is malformed (expected azk_<id>_<secret>)");
    }

    private static Caller Verify(string keyId, Entry entry, ReadOnlySpan<char> secret)
    {
        if (!ApiKeyFormat.Matches(secret, entry.Hash))
        {
            throw Unauthenticated("the API key is not valid (unknown key or wrong secret)");
        }

        if (entry.Revoked)
        {
            throw Unauthenticated($"the API key {keyId} was revoked");
        }

        // A kind this server does not know (a newer server's, or a damaged row) authenticates nothing.
        return entry.Caller ?? throw Unauthenticated($"the API key {keyId} has a kind this server does not know");
    }

    private sealed record Entry(byte[] Hash, Caller? Caller, bool Revoked, long FreshUntil);
}
