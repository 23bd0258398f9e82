using System.Collections.Concurrent;
using System.Security.Cryptography;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
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
/// cache time.
/// </para>
/// <para>
/// Every key of the right shape costs the same work, whichever part of it is wrong (<see cref="Work"/> counts it): the
/// entry of its id is read from the cache or the store, the presented secret is hashed once and compared in fixed
/// time with the entry's hash, and only then is the answer decided. An unknown id gets an entry too, whose hash is
/// a dummy no secret matches, cached like any other, so a wrong secret for a real id is not told apart from an
/// unknown id by the time it takes (a real id would otherwise answer from the cache, an unknown one from the store).
/// A key id is random and first stored when its key is created, so no one can have presented it before; creating a
/// key through this server drops any such entry at once. At most <see cref="MaxUnknownEntries"/> unknown ids are
/// cached: past that (a flood of made-up ids), an unknown id reads the store every time.
/// </para>
/// </summary>
internal sealed class ApiKeyAuthenticator(ApiKeyStore keys, IOptions<AuthzOptions> options, TimeProvider time)
{
    /// <summary>The most unknown key ids cached at once (bounds the memory a flood of made-up ids can take).</summary>
    public const int MaxUnknownEntries = 10_000;

    // The hash of an unknown id's entry: compared like a real one, matched by no secret (entries for unknown ids
    // are never accepted whatever the comparison says; this only makes the comparison the same work).
    private static readonly byte[] DummyHash = SHA256.HashData("no API key has this hash"u8);

    // The cache by key id, looked up by a span of the request's key (Cache is the dictionary itself).
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _cached =
        new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    private int _unknownEntries;
    private readonly long _ttl = (long)(options.Value.Auth.KeyCacheSeconds * (double)time.TimestampFrequency);

    // Bumped by every invalidation: a load that raced with one drops what it read (it may predate the change).
    private long _generation;

    private ConcurrentDictionary<string, Entry> Cache => _cached.Dictionary;

    /// <summary>
    /// The caller <paramref name="key"/> (<c>azk_&lt;id&gt;_&lt;secret&gt;</c>) authenticates; throws <see cref="RpcException"/>
    /// UNAUTHENTICATED for a malformed, unknown, wrong or revoked key. Completes synchronously for a cached key.
    /// </summary>
    public ValueTask<Caller> AuthenticateAsync(ReadOnlySpan<char> key, CancellationToken cancellationToken)
    {
        if (!ApiKeyFormat.TrySplit(key, out var keyId, out var secret))
        {
            throw Unauthenticated("the API key is malformed (expected azk_<id>_<secret>)");
        }

        // Looked up by the id's characters in the request: a cached key is verified without a string of its own.
        if (_cached.TryGetValue(keyId, out var cachedId, out var entry) && time.GetTimestamp() < entry.FreshUntil)
        {
            return ValueTask.FromResult(Verify(cachedId, entry, secret));
        }

        return LoadAsync(key.ToString(), keyId.ToString(), cancellationToken);
    }

    /// <summary>The work verification has done, step by step: what tests compare between kinds of wrong key.</summary>
    internal VerificationWork Work { get; } = new();

    /// <summary>Forgets what is cached about <paramref name="keyId"/>: its next use reads the store.</summary>
    public void Invalidate(string keyId)
    {
        Interlocked.Increment(ref _generation);
        if (Cache.TryRemove(keyId, out var removed) && !removed.Known)
        {
            Interlocked.Decrement(ref _unknownEntries);
        }
    }

    internal static RpcException Unauthenticated(string problem) =>
        new(new Status(StatusCode.Unauthenticated, ApiKeyFormat.SendKeyHint(problem)));

    private async ValueTask<Caller> LoadAsync(string key, string keyId, CancellationToken cancellationToken)
    {
        var generation = Volatile.Read(ref _generation);
        Work.CountStoreRead();
        var stored = await keys.FindAsync(keyId, cancellationToken).ConfigureAwait(false);
        var freshUntil = time.GetTimestamp() + _ttl;
        var entry = stored is null
            ? new Entry(DummyHash, null, Revoked: false, Known: false, freshUntil)
            : new Entry(
                Convert.FromHexString(stored.KeyHash),
                ApiKeyFormat.TryParseKind(stored.Kind, out var kind) ? new Caller(stored.Subject, kind, stored.Id, stored.Email) : null,
                stored.RevokedAt is not null,
                Known: true,
                freshUntil);
        if (_ttl > 0)
        {
            Remember(keyId, entry, generation);
        }

        // Parsed before (a span cannot live across the await): cannot fail.
        return ApiKeyFormat.TryParse(key, out _, out var secret)
            ? Verify(keyId, entry, secret)
            : throw Unauthenticated("the API key is malformed (expected azk_<id>_<secret>)");
    }

    private void Remember(string keyId, Entry entry, long generation)
    {
        if (!entry.Known && Interlocked.Increment(ref _unknownEntries) > MaxUnknownEntries)
        {
            Interlocked.Decrement(ref _unknownEntries);
            if (!SweptExpiredUnknown())
            {
                return;
            }

            Interlocked.Increment(ref _unknownEntries);
        }

        var replaced = false;
        Cache.AddOrUpdate(keyId, entry, (_, old) =>
        {
            replaced = !old.Known;
            return entry;
        });
        if (replaced)
        {
            Interlocked.Decrement(ref _unknownEntries);
        }

        if (Volatile.Read(ref _generation) != generation && Cache.TryRemove(KeyValuePair.Create(keyId, entry)) && !entry.Known)
        {
            // An invalidation ran while this was read: what was read may be older than it.
            Interlocked.Decrement(ref _unknownEntries);
        }
    }

    // Drops the unknown ids' entries that have expired (rare: only when the cap is reached); true when any was.
    private bool SweptExpiredUnknown()
    {
        var now = time.GetTimestamp();
        var swept = false;
        foreach (var (id, entry) in Cache)
        {
            if (!entry.Known && now >= entry.FreshUntil && Cache.TryRemove(KeyValuePair.Create(id, entry)))
            {
                Interlocked.Decrement(ref _unknownEntries);
                swept = true;
            }
        }

        return swept;
    }

    // The same steps for every entry, known or not: one hash, one fixed-time comparison, then the answer.
    private Caller Verify(string keyId, Entry entry, ReadOnlySpan<char> secret)
    {
        Work.CountComparison();
        var matches = ApiKeyFormat.Matches(secret, entry.Hash);
        if (!(matches & entry.Known))
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

    // Known: the id is a stored key's; an unknown id's entry has the dummy hash and is never accepted.
    private sealed record Entry(byte[] Hash, Caller? Caller, bool Revoked, bool Known, long FreshUntil);
}

/// <summary>
/// Counts of what key verification did: store reads, and hash-and-compare steps (each one SHA-256 of the presented
/// secret and one fixed-time comparison). Read by tests to show that every kind of wrong key costs the same steps.
/// </summary>
internal sealed class VerificationWork
{
    private long _storeReads;
    private long _comparisons;

    /// <summary>Store reads of a key's entry.</summary>
    public long StoreReads => Interlocked.Read(ref _storeReads);

    /// <summary>Hashes of a presented secret, each compared in fixed time with an entry's hash.</summary>
    public long Comparisons => Interlocked.Read(ref _comparisons);

    internal void CountStoreRead() => Interlocked.Increment(ref _storeReads);

    internal void CountComparison() => Interlocked.Increment(ref _comparisons);
}
