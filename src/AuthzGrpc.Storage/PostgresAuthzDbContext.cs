using System.Data;
using Microsoft.EntityFrameworkCore.Storage;

namespace AuthzGrpc.Storage;

/// <summary>
/// The PostgreSQL store, for several replicas sharing one database. A write runs at READ COMMITTED and first locks
/// the single <c>revision_counter</c> row with <c>SELECT ... FOR UPDATE</c>: every writer of every replica queues
/// on that row lock until the holder commits, so preconditions, the revision number and the change log are
/// computed by one writer at a time and revisions are gap-free. Reads use REPEATABLE READ, one snapshot throughout.
/// </summary>
internal sealed class PostgresAuthzDbContext(DbContextOptions<PostgresAuthzDbContext> options) : AuthzDbContext(options)
{
    internal override async Task<(IDbContextTransaction Transaction, RevisionCounterRow Counter)> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var transaction = await Database.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
        var counter = await RevisionCounter
            .FromSqlRaw("SELECT * FROM revision_counter WHERE id = 1 FOR UPDATE")
            .SingleAsync(cancellationToken).ConfigureAwait(false);
        return (transaction, counter);
    }

    internal override Task<IDbContextTransaction> BeginReadAsync(CancellationToken cancellationToken) =>
        Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
}
