using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Storage;
using SQLitePCL;

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

    internal override Task<SeedWriter> OpenSeedWriterAsync(long revision, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _ = Database.CurrentTransaction ?? throw new InvalidOperationException("a bulk insert runs inside the write's transaction");
        var connection = (SqliteConnection)Database.GetDbConnection();
        var handle = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        return Task.FromResult<SeedWriter>(new SqliteSeedWriter(handle, revision));
    }

    /// <summary>
    /// The seed's bulk insert through SQLite's own API on the context's connection (so inside its transaction): two
    /// statements prepared once and run per row, the insert and, when it stored the row, its change log row. SQLite
    /// runs in process, so a row costs binds and steps; Microsoft.Data.Sqlite's per-command work (parameter collection,
    /// reader, type dispatch) was most of the per-row cost above SQLite's own.
    /// </summary>
    private sealed class SqliteSeedWriter : SeedWriter
    {
        // Microsoft.Data.Sqlite's DateTime text, so a raw row reads back exactly as a row EF Core wrote.
        private const string DateTimeFormat = @"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF";

        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _insert;
        private readonly sqlite3_stmt _log;

        public SqliteSeedWriter(sqlite3 db, long revision)
        {
            _db = db;
            _insert = Prepare(db, $"INSERT INTO relationships ({InsertedRelationshipColumns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING");
            try
            {
                // The change is copied from the row just stored, by its id: no second set of binds, the same values.
                _log = Prepare(db, $"INSERT INTO revision_changes ({LoggedChangeColumns}) " +
                                   $"SELECT ?1, ?2, '{RelationshipRows.TouchOperation}', {RelationshipValueColumns} FROM relationships WHERE id = ?3");
            }
            catch
            {
                _insert.Dispose();
                throw;
            }

            // Bindings outlive sqlite3_reset: the revision is bound once for the whole seed.
            Check(raw.sqlite3_bind_int64(_insert, 10, revision));
            Check(raw.sqlite3_bind_int64(_log, 1, revision));
        }

        public override Task<int> WriteAsync(IReadOnlyList<Relationship> batch, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(batch);
            cancellationToken.ThrowIfCancellationRequested();
            var stored = 0;
            foreach (var relationship in batch)
            {
                var (resource, subject) = (relationship.Resource, relationship.Subject);
                BindText(_insert, 1, resource.Type);
                BindText(_insert, 2, resource.Id);
                BindText(_insert, 3, relationship.Relation);
                BindText(_insert, 4, subject.Type);
                BindText(_insert, 5, subject.Id);
                BindText(_insert, 6, subject.Relation ?? string.Empty);
                BindText(_insert, 7, relationship.ExpiresAt?.UtcDateTime.ToString(DateTimeFormat, CultureInfo.InvariantCulture));
                BindText(_insert, 8, relationship.Caveat?.Name);
                BindText(_insert, 9, CaveatContextOf(relationship));
                Run(_insert);

                // ON CONFLICT DO NOTHING: no change means the relationship was stored before, so nothing to log.
                if (raw.sqlite3_changes(_db) == 0)
                {
                    continue;
                }

                Check(raw.sqlite3_bind_int(_log, 2, Stored));
                Check(raw.sqlite3_bind_int64(_log, 3, raw.sqlite3_last_insert_rowid(_db)));
                Run(_log);
                Stored++;
                stored++;
            }

            return Task.FromResult(stored);
        }

        public override ValueTask DisposeAsync()
        {
            // Finalizes both statements (the handles are SafeHandles).
            _insert.Dispose();
            _log.Dispose();
            return ValueTask.CompletedTask;
        }

        // The string overload binds "" as empty text (never NULL), as the NOT NULL subject_relation needs.
        private void BindText(sqlite3_stmt statement, int index, string? value) =>
            Check(value is null ? raw.sqlite3_bind_null(statement, index) : raw.sqlite3_bind_text(statement, index, value));

        private void Run(sqlite3_stmt statement)
        {
            var rc = raw.sqlite3_step(statement);
            raw.sqlite3_reset(statement);
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
        }

        private void Check(int rc)
        {
            if (rc != raw.SQLITE_OK)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
        }

        private static sqlite3_stmt Prepare(sqlite3 db, string sql)
        {
            var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
            if (rc != raw.SQLITE_OK)
            {
                statement.Dispose();
                SqliteException.ThrowExceptionForRC(rc, db);
            }

            return statement;
        }
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
