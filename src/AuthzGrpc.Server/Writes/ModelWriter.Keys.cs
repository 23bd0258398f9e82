using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Writes;

// API keys are written under the write lock like every other mutation, so a personal key's authority is judged against
// the engine caught up with every replica's commits. A key changes no relationship and takes no revision: the store
// records it with its audit event at the current one, and there is nothing to apply or publish.
internal sealed partial class ModelWriter
{
    /// <summary>Stores <paramref name="key"/> (an admin's call: the authentication interceptor allowed it) with its audit event.</summary>
    public async Task<StoredApiKey> CreateApiKeyAsync(NewApiKey key, string actor, CancellationToken cancellationToken)
    {
        var (_, stored) = await WriteLockedAsync(async engine =>
        {
            // The key's subject is judged against the model in force, as every write is.
            if (!engine.Schema.TryGetType(key.Subject.Type, out _))
            {
                throw Invalid($"subject.object.type: type '{key.Subject.Type}' is not defined in the schema");
            }

            return (engine.Revision, NoChanges, await store.ApiKeys.CreateAsync(key, actor, CancellationToken.None).ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <summary>Stores <paramref name="key"/>, acting as <paramref name="caller"/> on <paramref name="scope"/>, as <see cref="ManagementPlanner.RequireKeyAuthority"/> allows.</summary>
    public async Task<StoredApiKey> CreatePersonalApiKeyAsync(ObjectRef scope, NewApiKey key, SubjectRef caller, CancellationToken cancellationToken)
    {
        var (_, stored) = await WriteLockedAsync(async engine =>
        {
            new ManagementPlanner(engine).RequireKeyAuthority(caller, scope);
            return (engine.Revision, NoChanges, await store.ApiKeys.CreateAsync(key, caller.ToString(), CancellationToken.None).ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <summary>Revokes key <paramref name="keyId"/>; null when there is none (see <see cref="ApiKeyStore.RevokeAsync"/>).</summary>
    public async Task<StoredApiKey?> RevokeApiKeyAsync(string keyId, string actor, CancellationToken cancellationToken)
    {
        var (_, revoked) = await WriteLockedAsync(async engine =>
            (engine.Revision, NoChanges, await store.ApiKeys.RevokeAsync(keyId, actor, CancellationToken.None).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        return revoked;
    }

    /// <summary>Revokes <paramref name="caller"/>'s own key <paramref name="keyId"/>; NotFound, the same for a key of someone else, when it has none.</summary>
    public async Task<StoredApiKey> RevokePersonalApiKeyAsync(string keyId, SubjectRef caller, CancellationToken cancellationToken)
    {
        var missing = new AuthzException(AuthzErrorKind.NotFound, $"key_id: {caller} has no API key '{keyId}'");
        var (_, revoked) = await WriteLockedAsync(async engine =>
        {
            if (await store.ApiKeys.FindAsync(keyId, cancellationToken).ConfigureAwait(false) is not { } found || found.Subject != caller)
            {
                throw missing;
            }

            return (engine.Revision, NoChanges, await store.ApiKeys.RevokeAsync(keyId, caller.ToString(), CancellationToken.None).ConfigureAwait(false) ?? throw missing);
        }, cancellationToken).ConfigureAwait(false);
        return revoked;
    }
}
