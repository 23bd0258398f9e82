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

    // The text parameters of the bulk insert, in the order of InsertedRelationshipColumns.
    private static readonly string[] InsertParameterNames = ["$rt", "$ri", "$r", "$st", "$si", "$sr", "$e", "$cn", "$cc"];

    // One prepared single-row statement run per relationship: SQLite runs in process, so a row costs a bind and a step,
    // no round trip, and nothing of the batch is held beyond the batch itself.
    internal override Task<int> InsertNewRelationshipsAsync(IReadOnlyList<Relationship> batch, long revision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = (SqliteConnection)Database.GetDbConnection();
        using var command = connection.CreateCommand();
        command.Transaction = (SqliteTransaction?)Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("a bulk insert runs inside the write's transaction");
        command.CommandText = $"INSERT INTO relationships ({InsertedRelationshipColumns}) VALUES ($rt, $ri, $r, $st, $si, $sr, $e, $cn, $cc, $rev) ON CONFLICT DO NOTHING";
        var parameters = InsertParameterNames.Select(name => command.Parameters.Add(name, SqliteType.Text)).ToArray();
        command.Parameters.AddWithValue("$rev", revision);
        command.Prepare();
        var inserted = 0;
        foreach (var relationship in batch)
        {
            var (resource, subject) = (relationship.Resource, relationship.Subject);
            parameters[0].Value = resource.Type;
            parameters[1].Value = resource.Id;
            parameters[2].Value = relationship.Relation;
            parameters[3].Value = subject.Type;
            parameters[4].Value = subject.Id;
            parameters[5].Value = subject.Relation ?? string.Empty;
            parameters[6].Value = relationship.ExpiresAt is { } expiresAt ? expiresAt.UtcDateTime : DBNull.Value;
            parameters[7].Value = (object?)relationship.Caveat?.Name ?? DBNull.Value;
            parameters[8].Value = relationship.Caveat is { Context.IsEmpty: false } caveat ? caveat.Context.ToJson() : DBNull.Value;
            inserted += command.ExecuteNonQuery();
        }

        return Task.FromResult(inserted);
    }

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
