using System.Globalization;
using System.Text.Json;

namespace AuthzGrpc.Storage;

/// <summary>
/// The API keys. Only the SHA-256 of a key's secret is stored. Key writes take the database-wide write lock (so they
/// serialize with every other write, in every process) and record their audit event in the same transaction, but they
/// do not create a revision: keys are not part of the model, so checks and the change log do not see them. Their audit
/// events carry the revision in force when they happened.
/// </summary>
public sealed class ApiKeyStore(AuthzDatabase database)
{
    /// <summary>Longest description of an API key.</summary>
    public const int DescriptionLength = 256;

    /// <summary>The key with id <paramref name="keyId"/>, revoked or not; null when there is none.</summary>
    public async Task<StoredApiKey?> FindAsync(string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var row = await context.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken).ConfigureAwait(false);
            return row is null ? null : ToModel(row);
        }
    }

    /// <summary>Every key (revoked ones too), or only those of <paramref name="subject"/>, oldest first.</summary>
    public async Task<IReadOnlyList<StoredApiKey>> ListAsync(SubjectRef? subject = null, CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var rows = context.ApiKeys.AsNoTracking();
            if (subject is { } s)
            {
                rows = rows.Where(k => k.SubjectType == s.Type && k.SubjectId == s.Id);
            }

            var list = await rows.ToListAsync(cancellationToken).ConfigureAwait(false);
            return [.. list.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).Select(ToModel)];
        }
    }

    /// <summary>
    /// Stores a new key and its <c>CreateApiKey</c> audit event in one transaction. Throws
    /// <see cref="AuthzErrorKind.AlreadyExists"/> when the id is taken.
    /// </summary>
    public Task<StoredApiKey> CreateAsync(NewApiKey key, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return database.WriteAsync<StoredApiKey>(operation: null, actor, async unit =>
        {
            var (context, _, now) = unit;
            if (await context.ApiKeys.AnyAsync(k => k.Id == key.Id, cancellationToken).ConfigureAwait(false))
            {
                throw new AuthzException(AuthzErrorKind.AlreadyExists, $"an API key with id '{key.Id}' already exists");
            }

            var row = ToRow(key, now);
            context.ApiKeys.Add(row);
            var stored = ToModel(row);
            unit.Audit("CreateApiKey", KeyTarget(key.Id), null, Describe(stored));
            return (stored, true);
        }, cancellationToken);
    }

    /// <summary>
    /// Revokes a key and records a <c>RevokeApiKey</c> audit event in one transaction; returns the key as it now is, or
    /// null when there is no such key. Revoking a revoked key changes nothing (and records nothing). The last valid
    /// admin key cannot be revoked (<see cref="AuthzErrorKind.FailedPrecondition"/>): nobody could manage keys after it.
    /// </summary>
    public Task<StoredApiKey?> RevokeAsync(string keyId, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return database.WriteAsync<StoredApiKey?>(operation: null, actor, async unit =>
        {
            var (context, _, now) = unit;
            var row = await context.ApiKeys.SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken).ConfigureAwait(false);
            if (row is null || row.RevokedAt is not null)
            {
                return (row is null ? null : ToModel(row), true);
            }

            if (row.Kind == ApiKeyKinds.Admin &&
                !await context.ApiKeys.AnyAsync(k => k.Kind == ApiKeyKinds.Admin && k.RevokedAt == null && k.Id != keyId, cancellationToken).ConfigureAwait(false))
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"api key '{keyId}' is the last valid admin key and cannot be revoked: create another admin key first");
            }

            var before = Describe(ToModel(row));
            row.RevokedAt = now;
            var stored = ToModel(row);
            unit.Audit("RevokeApiKey", KeyTarget(keyId), before, Describe(stored));
            return ((StoredApiKey?)stored, true);
        }, cancellationToken);
    }

    /// <summary>
    /// Makes <paramref name="key"/> (a key from configuration) a valid key with exactly this hash, subject and kind:
    /// inserts it, or updates and un-revokes the stored key of that id. Records a <c>ConfigureApiKey</c> audit event
    /// when anything changed; returns the key and whether it changed.
    /// </summary>
    public Task<(StoredApiKey Key, bool Changed)> ConfigureAsync(NewApiKey key, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return database.WriteAsync<(StoredApiKey Key, bool Changed)>(operation: null, actor, async unit =>
        {
            var (context, _, now) = unit;
            var row = await context.ApiKeys.SingleOrDefaultAsync(k => k.Id == key.Id, cancellationToken).ConfigureAwait(false);
            if (row is not null && row.KeyHash == key.KeyHash && row.Kind == key.Kind && row.RevokedAt is null &&
                row.SubjectType == key.Subject.Type && row.SubjectId == key.Subject.Id)
            {
                return ((ToModel(row), false), true);
            }

            string? before = null;
            if (row is null)
            {
                row = ToRow(key, now);
                context.ApiKeys.Add(row);
            }
            else
            {
                before = Describe(ToModel(row));
                row.KeyHash = key.KeyHash;
                row.SubjectType = key.Subject.Type;
                row.SubjectId = key.Subject.Id;
                row.Kind = key.Kind;
                row.Description = key.Description;
                row.RevokedAt = null;
            }

            var stored = ToModel(row);
            unit.Audit("ConfigureApiKey", KeyTarget(key.Id), before, Describe(stored));
            return ((stored, true), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Stores <paramref name="key"/> (an admin key) unless a valid admin key exists; returns it, or null when one exists.
    /// <paramref name="beforeCommit"/> runs under the write lock once it is certain the key will be stored, before the
    /// commit (e.g. to write the key where its owner can read it): a second process starting at the same time waits,
    /// then finds this key and stores none. Records a <c>CreateApiKey</c> audit event.
    /// </summary>
    public Task<StoredApiKey?> CreateAdminKeyIfNoneAsync(
        NewApiKey key, Func<CancellationToken, Task> beforeCommit, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(beforeCommit);
        return database.WriteAsync<StoredApiKey?>(operation: null, actor, async unit =>
        {
            var (context, _, now) = unit;
            if (await context.ApiKeys.AnyAsync(k => k.Kind == ApiKeyKinds.Admin && k.RevokedAt == null, cancellationToken).ConfigureAwait(false))
            {
                return (null, true);
            }

            var row = ToRow(key, now);
            context.ApiKeys.Add(row);
            var stored = ToModel(row);
            unit.Audit("CreateApiKey", KeyTarget(key.Id), null, Describe(stored));
            await beforeCommit(cancellationToken).ConfigureAwait(false);
            return ((StoredApiKey?)stored, true);
        }, cancellationToken);
    }

    /// <summary>The audit target of a key: <c>api_key:&lt;id&gt;</c>.</summary>
    public static string KeyTarget(string keyId) => "api_key:" + keyId;

    private static ApiKeyRow ToRow(NewApiKey key, DateTime now) => new()
    {
        Id = key.Id,
        KeyHash = key.KeyHash,
        SubjectType = key.Subject.Type,
        SubjectId = key.Subject.Id,
        Kind = key.Kind,
        Description = key.Description,
        CreatedAt = now,
        Email = key.Email,
    };

    private static StoredApiKey ToModel(ApiKeyRow row) => new(
        row.Id, row.KeyHash, new SubjectRef(row.SubjectType, row.SubjectId), row.Kind, row.Description,
        DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc),
        row.RevokedAt is { } revoked ? DateTime.SpecifyKind(revoked, DateTimeKind.Utc) : null,
        row.Email);

    // What the audit log says about a key: never the secret, nor its hash.
    private static string Describe(StoredApiKey key) => JsonSerializer.Serialize(new Dictionary<string, string?>
    {
        ["key_id"] = key.Id,
        ["subject"] = key.Subject.ToString(),
        ["kind"] = key.Kind,
        ["description"] = key.Description,
        ["created_at"] = key.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
        ["revoked_at"] = key.RevokedAt?.ToString("O", CultureInfo.InvariantCulture),
        ["email"] = key.Email,
    });

}

/// <summary>The kinds of API key, as stored.</summary>
public static class ApiKeyKinds
{
    /// <summary>AuthorizationService only (sidecars).</summary>
    public const string Check = "check";

    /// <summary>AuthorizationService and ManagementService, as the key's subject.</summary>
    public const string Management = "management";

    /// <summary>Every service.</summary>
    public const string Admin = "admin";
}

/// <summary>A stored API key. <see cref="KeyHash"/> is for verifying a presented secret and is never shown to anyone.</summary>
/// <param name="Id">The public key id.</param>
/// <param name="KeyHash">The SHA-256 of the secret, lowercase hex.</param>
/// <param name="Subject">Who the key acts as.</param>
/// <param name="Kind">One of <see cref="ApiKeyKinds"/>.</param>
/// <param name="Description">What the key is for.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="RevokedAt">When it was revoked (UTC); null while valid.</param>
/// <param name="Email">The verified email address of its subject (lowercase), if its issuer gave one.</param>
public sealed record StoredApiKey(
    string Id, string KeyHash, SubjectRef Subject, string Kind, string Description, DateTime CreatedAt, DateTime? RevokedAt, string? Email = null);

/// <summary>A key to store.</summary>
/// <param name="Id">The public key id.</param>
/// <param name="KeyHash">The SHA-256 of the secret, lowercase hex.</param>
/// <param name="Subject">Who the key acts as.</param>
/// <param name="Kind">One of <see cref="ApiKeyKinds"/>.</param>
/// <param name="Description">What the key is for.</param>
/// <param name="Email">The verified email address of its subject (lowercase), vouched for by its issuer; null for none.</param>
public sealed record NewApiKey(string Id, string KeyHash, SubjectRef Subject, string Kind, string Description, string? Email = null);
