using AuthzGrpc.Core.Engine;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Writes;

internal sealed partial class ModelWriter
{
    /// <summary>
    /// Restores a backup into a new database (see <see cref="BackupStore.RestoreAsync"/>) and puts its schema and
    /// relationships in force. Throws <see cref="AuthzException"/>: InvalidArgument for a schema that does not compile
    /// or a row that does not read or fit it, FailedPrecondition when the database has had a write since it was created.
    /// </summary>
    public async Task<RestoreResult> RestoreBackupAsync(string schemaText, IReadOnlyList<BackupRow> rows, string actor, CancellationToken cancellationToken)
    {
        var schema = Compile(schemaText, forWrite: false);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var probe = new PermissionEngine(schema);
            var result = await store.Backup.RestoreAsync(schemaText, rows, r => Problem(probe, r), actor, CancellationToken.None).ConfigureAwait(false);
            sync.SwapLocked(ModelLoader.BuildEngine(schema, result.Relationships, result.Revision));
            await PublishLockedAsync().ConfigureAwait(false);
            return result;
        }
        finally
        {
            _lock.Release();
        }
    }
}
