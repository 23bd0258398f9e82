using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Storage;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// The start of a check replica (<c>Authz:Role=check</c>): loads the newest stored schema and no relationship. It never
/// changes the database — no migration, no seed, no bootstrap key — so it refuses to start on a database a full
/// replica has not created and migrated to this version, naming what to do.
/// </summary>
internal sealed class CheckReplicaLoader(IOptions<AuthzOptions> options, AuthzStore store, CheckReplicaSchema schemas, ILogger<ModelLoader> logger)
{
    /// <summary>Loads the schema; throws <see cref="ModelLoadException"/> (after logging it) when it cannot.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            _ = options.Value;
        }
        catch (OptionsValidationException e)
        {
            throw ModelLoader.Fail(logger, $"invalid configuration: {string.Join("; ", e.Failures)}", e);
        }

        var database = store.Database;
        try
        {
            var pending = await database.PendingMigrationsAsync(cancellationToken).ConfigureAwait(false);
            if (pending.Count > 0)
            {
                throw ModelLoader.Fail(
                    logger,
                    $"the {database.Provider} database at {database.Location} lacks {pending.Count} migration(s) of this version (the first: {pending[0]}): " +
                    "a check replica never changes the database; start a full replica (Authz:Role=full) on it first",
                    null);
            }

            Log.StorageOpened(logger, database.Provider, database.Location);
            if (!await schemas.RefreshAsync(cancellationToken).ConfigureAwait(false))
            {
                throw ModelLoader.Fail(
                    logger,
                    $"the database at {database.Location} holds no model yet: start a full replica (Authz:Role=full) on it first, which seeds it from the files",
                    null);
            }
        }
        catch (SchemaException e)
        {
            throw ModelLoader.Fail(logger, $"the schema stored at {database.Location} does not compile: {e.Message}", e);
        }
        catch (Exception e) when (e is not ModelLoadException and not OperationCanceledException)
        {
            throw ModelLoader.Fail(logger, $"cannot open the {database.Provider} storage at {database.Location}: {e.Message}", e);
        }

        Log.CheckReplicaStarted(logger, schemas.Schema.Types.Count, schemas.Held!.Revision);
    }
}
