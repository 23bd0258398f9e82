using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Storage;

namespace AuthzGrpc.Storage;

/// <summary>
/// The SQLite file store, the embedded default. A write begins with <c>BEGIN IMMEDIATE</c>: SQLite's single writer
/// lock is taken at once (waiting up to the busy timeout for another writer), so writers from every process
/// connected to the file are serialized and the revision counter read under it is the newest. Reads use
/// deferred transactions, which in WAL mode see one snapshot and never block the writer.
/// </summary>
internal sealed class SqliteAuthzDbContext(DbContextOptions<SqliteAuthzDbContext> options) : AuthzDbContext(options)
{
    internal override async Task<(IDbContextTransaction Transaction, RevisionCounterRow Counter)> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var transaction = await BeginAsync(deferred: false, cancellationToken).ConfigureAwait(false);
        try
        {
            var counter = await RevisionCounter.SingleAsync(c => c.Id == 1, cancellationToken).ConfigureAwait(false);
            return (transaction, counter);
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override Task<IDbContextTransaction> BeginReadAsync(CancellationToken cancellationToken) =>
        BeginAsync(deferred: true, cancellationToken);

    // BEGIN IMMEDIATE (deferred: false) or BEGIN (deferred: true), owned: disposing the result rolls back if uncommitted.
    private async Task<IDbContextTransaction> BeginAsync(bool deferred, CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var sqlite = connection.BeginTransaction(deferred);
        try
        {
            var used = await Database.UseTransactionAsync(sqlite, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("EF Core did not accept the SQLite transaction");
            return new OwnedTransaction(used, sqlite);
        }
        catch
        {
            await sqlite.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>EF's view of a transaction it did not begin, which disposes (so rolls back) the underlying one too.</summary>
    private sealed class OwnedTransaction(IDbContextTransaction inner, SqliteTransaction sqlite) : IDbContextTransaction
    {
        public Guid TransactionId => inner.TransactionId;

        public void Commit() => inner.Commit();

        public Task CommitAsync(CancellationToken cancellationToken = default) => inner.CommitAsync(cancellationToken);

        public void Rollback() => inner.Rollback();

        public Task RollbackAsync(CancellationToken cancellationToken = default) => inner.RollbackAsync(cancellationToken);

        public void Dispose()
        {
            inner.Dispose();
            sqlite.Dispose();
        }

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await sqlite.DisposeAsync().ConfigureAwait(false);
        }
    }
}
