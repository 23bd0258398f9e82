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
    /// The seed's bulk insert through SQLite's own API on the context's connection (so inside its transaction), with
    /// statements prepared once: rows inserted <see cref="RowsPerStatement"/> to a statement, then the batch's change log
    /// copied from the rows it stored in one statement. SQLite runs in process, so a row costs its binds and its share
    /// of a step; what SQLite does once per statement (AUTOINCREMENT's bookkeeping, the statement journal, opening the
    /// cursors) is shared by a statement's rows, and Microsoft.Data.Sqlite's per-command work is gone.
    /// </summary>
    private sealed class SqliteSeedWriter : SeedWriter
    {
        // Rows per insert statement: 9 parameters each, well under SQLite's 32,766.
        private const int RowsPerStatement = 100;

        private const int ColumnsPerRow = 9;

        // Microsoft.Data.Sqlite's DateTime text, so a raw row reads back exactly as a row EF Core wrote.
        private const string DateTimeFormat = @"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF";

        private readonly sqlite3 _db;
        private readonly List<sqlite3_stmt> _statements = [];
        private readonly sqlite3_stmt _insertMany;
        private readonly sqlite3_stmt _insertOne;
        private readonly sqlite3_stmt _log;

        // The greatest id in relationships: rows stored after it are the current batch's (ids only grow, and the
        // write lock keeps every other writer out).
        private long _lastId;

        public SqliteSeedWriter(sqlite3 db, long revision)
        {
            _db = db;
            try
            {
                _insertMany = Prepare(InsertSql(RowsPerStatement));
                _insertOne = Prepare(InsertSql(1));

                // ON CONFLICT DO NOTHING stores a relationship given twice once, the first one given (rows are
                // inserted in the order of the statement's VALUES), and skips it in the log, which copies only what
                // the insert stored, in id order: the order given.
                _log = Prepare($"INSERT INTO revision_changes ({LoggedChangeColumns}) " +
                               $"SELECT ?1, ?2 + ROW_NUMBER() OVER (ORDER BY id) - 1, '{RelationshipRows.TouchOperation}', {RelationshipValueColumns} " +
                               "FROM relationships WHERE id > ?3 ORDER BY id");
                using var maxId = Prepare("SELECT coalesce(max(id), 0) FROM relationships");
                if (raw.sqlite3_step(maxId) != raw.SQLITE_ROW)
                {
                    SqliteException.ThrowExceptionForRC(raw.sqlite3_errcode(db), db);
                }

                _lastId = raw.sqlite3_column_int64(maxId, 0);
            }
            catch
            {
                Dispose();
                throw;
            }

            // Bindings outlive sqlite3_reset: the revision is bound once for the whole seed.
            Check(raw.sqlite3_bind_int64(_insertMany, (RowsPerStatement * ColumnsPerRow) + 1, revision));
            Check(raw.sqlite3_bind_int64(_insertOne, ColumnsPerRow + 1, revision));
            Check(raw.sqlite3_bind_int64(_log, 1, revision));
        }

        public override Task<int> WriteAsync(IReadOnlyList<Relationship> batch, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(batch);
            cancellationToken.ThrowIfCancellationRequested();
            var start = 0;
            var inserted = false;
            for (; start + RowsPerStatement <= batch.Count; start += RowsPerStatement)
            {
                for (var row = 0; row < RowsPerStatement; row++)
                {
                    Bind(_insertMany, row * ColumnsPerRow, batch[start + row]);
                }

                inserted |= Insert(_insertMany);
            }

            for (; start < batch.Count; start++)
            {
                Bind(_insertOne, 0, batch[start]);
                inserted |= Insert(_insertOne);
            }

            if (!inserted)
            {
                return Task.FromResult(0);
            }

            // After the inserts, the newest id is the batch's last stored row's.
            var lastId = raw.sqlite3_last_insert_rowid(_db);
            Check(raw.sqlite3_bind_int(_log, 2, Stored));
            Check(raw.sqlite3_bind_int64(_log, 3, _lastId));
            Run(_log);
            var stored = raw.sqlite3_changes(_db);
            (_lastId, Stored) = (lastId, Stored + stored);
            return Task.FromResult(stored);
        }

        public override ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        // Finalizes every statement (the handles are SafeHandles).
        private void Dispose()
        {
            foreach (var statement in _statements)
            {
                statement.Dispose();
            }
        }

        private static string InsertSql(int rows)
        {
            var values = Enumerable.Range(0, rows).Select(row =>
                "(" + string.Join(", ", Enumerable.Range((row * ColumnsPerRow) + 1, ColumnsPerRow).Select(i => $"?{i}")) + $", ?{(rows * ColumnsPerRow) + 1})");
            return $"INSERT INTO relationships ({InsertedRelationshipColumns}) VALUES {string.Join(", ", values)} ON CONFLICT DO NOTHING";
        }

        // The relationship's nine columns in InsertedRelationshipColumns' order, after parameter `offset`.
        private void Bind(sqlite3_stmt statement, int offset, Relationship relationship)
        {
            var (resource, subject) = (relationship.Resource, relationship.Subject);
            BindText(statement, offset + 1, resource.Type);
            BindText(statement, offset + 2, resource.Id);
            BindText(statement, offset + 3, relationship.Relation);
            BindText(statement, offset + 4, subject.Type);
            BindText(statement, offset + 5, subject.Id);
            BindText(statement, offset + 6, subject.Relation ?? string.Empty);
            BindText(statement, offset + 7, relationship.ExpiresAt?.UtcDateTime.ToString(DateTimeFormat, CultureInfo.InvariantCulture));
            BindText(statement, offset + 8, relationship.Caveat?.Name);
            BindText(statement, offset + 9, CaveatContextOf(relationship));
        }

        // The string overload binds "" as empty text (never NULL), as the NOT NULL subject_relation needs.
        private void BindText(sqlite3_stmt statement, int index, string? value) =>
            Check(value is null ? raw.sqlite3_bind_null(statement, index) : raw.sqlite3_bind_text(statement, index, value));

        // Runs an insert; whether it stored any row.
        private bool Insert(sqlite3_stmt statement)
        {
            Run(statement);
            return raw.sqlite3_changes(_db) > 0;
        }

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

        private sqlite3_stmt Prepare(string sql)
        {
            var rc = raw.sqlite3_prepare_v2(_db, sql, out var statement);
            if (rc != raw.SQLITE_OK)
            {
                statement.Dispose();
                SqliteException.ThrowExceptionForRC(rc, _db);
            }

            _statements.Add(statement);
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
