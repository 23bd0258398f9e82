using Microsoft.Data.Sqlite;
using Npgsql;

namespace AuthzGrpc.Storage;

/// <summary>
/// The database behind every store (SQLite or PostgreSQL): its identity, its migrations, and the one transaction
/// scaffold every write goes through (<see cref="WriteAsync"/>).
/// <para>
/// Every write is one transaction that first takes the database-wide write lock (see
/// <see cref="AuthzDbContext.BeginWriteAsync"/>), then runs its body against a <see cref="UnitOfWork"/>, and commits.
/// A write of the model records the next revision (the locked counter plus one) with the body's changes and audit
/// events; writers therefore run one at a time across every process sharing the database, and revisions are gap-free
/// and strictly increasing in commit order. A write that fails rolls back whole and consumes no revision. Within one
/// process a semaphore queues writers before they reach the database.
/// </para>
/// </summary>
public sealed class AuthzDatabase : IAsyncDisposable, IDisposable
{
    /// <summary>How long a SQLite writer waits for another process's write lock before failing.</summary>
    public static readonly TimeSpan SqliteBusyTimeout = TimeSpan.FromSeconds(10);

    private readonly Func<AuthzDbContext> _createContext;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    // The revision the writes of the current call were judged at (see JudgedAt); flows down the awaited store calls.
    private readonly AsyncLocal<long?> _judgedAt = new();
    private readonly TimeProvider _time;
    private readonly string _connectionString;

    private AuthzDatabase(StorageProvider provider, string connectionString, Func<AuthzDbContext> createContext, TimeProvider time)
    {
        Provider = provider;
        _connectionString = connectionString;
        _createContext = createContext;
        _time = time;
    }

    /// <summary>The database behind the store.</summary>
    public StorageProvider Provider { get; }

    /// <summary>Where the data lives, without credentials: the SQLite file's full path, or PostgreSQL's host and database.</summary>
    public string Location => Provider switch
    {
        StorageProvider.Sqlite => new SqliteConnectionStringBuilder(_connectionString).DataSource,
        _ => PostgresLocation(_connectionString),
    };

    /// <summary>
    /// Creates a store. For SQLite, a relative file path in <paramref name="connectionString"/> is resolved against the
    /// current directory and its folder is created. Nothing is opened until <see cref="MigrateAsync"/>.
    /// </summary>
    public static AuthzDatabase Create(StorageProvider provider, string connectionString, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var time = timeProvider ?? TimeProvider.System;
        switch (provider)
        {
            case StorageProvider.Sqlite:
            {
                var builder = new SqliteConnectionStringBuilder(connectionString);
                if (builder.Mode != SqliteOpenMode.Memory && builder.DataSource is { Length: > 0 } file && file != ":memory:")
                {
                    builder.DataSource = Path.GetFullPath(file);
                    Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
                }

                var options = new DbContextOptionsBuilder<SqliteAuthzDbContext>()
                    .UseSqlite(builder.ConnectionString)
                    .AddInterceptors(new SqlitePragmaInterceptor(SqliteBusyTimeout))
                    .Options;
                return new AuthzDatabase(provider, builder.ConnectionString, () => new SqliteAuthzDbContext(options), time);
            }

            case StorageProvider.Postgres:
            {
                var options = new DbContextOptionsBuilder<PostgresAuthzDbContext>().UseNpgsql(connectionString).Options;
                return new AuthzDatabase(provider, connectionString, () => new PostgresAuthzDbContext(options), time);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "unknown storage provider");
        }
    }

    /// <summary>
    /// Creates the database if needed and applies every pending migration of the provider; for SQLite, also switches
    /// the file to WAL journal mode (readers never block the writer, nor it them). Gives the database its identity
    /// (<see cref="DatabaseIdAsync"/>) when it has none.
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            await context.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            if (Provider == StorageProvider.Sqlite)
            {
                // Persistent: recorded in the file, so every later connection (of any process) uses WAL.
                await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
            }
        }

        // The identity is created with the database (its first start), so every copy of the file carries it.
        await DatabaseIdAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The migrations this code has that the database lacks (none when it is up to date): a process that must not
    /// change the database's structure (a check replica) refuses to start on one that lacks any.
    /// </summary>
    public async Task<IReadOnlyList<string>> PendingMigrationsAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return [.. await context.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)];
        }
    }

    /// <summary>
    /// The database's identity: a random id (32 hex digits) given to it once, by the first call on a database that has
    /// none (a new one, or one created before identities existed), and the same for every process and every start
    /// after. The first call wins a race: the id is set only where it is still empty, in one statement.
    /// </summary>
    public async Task<string> DatabaseIdAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            var id = await ReadDatabaseIdAsync(context, cancellationToken).ConfigureAwait(false);
            if (id.Length > 0)
            {
                return id;
            }

            var fresh = Guid.NewGuid().ToString("N");
            await context.RevisionCounter.Where(c => c.Id == 1 && c.DatabaseId == string.Empty)
                .ExecuteUpdateAsync(set => set.SetProperty(c => c.DatabaseId, fresh), cancellationToken).ConfigureAwait(false);
            return await ReadDatabaseIdAsync(context, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The marker of a committed revision (<see cref="RevisionRow.Marker"/>): empty for revision 0 (nothing written)
    /// and for revisions committed before markers existed; null when the database has no such revision (it is behind:
    /// restored from an older backup, or another database).
    /// </summary>
    public async Task<string?> RevisionMarkerAsync(long revision, CancellationToken cancellationToken = default)
    {
        if (revision == 0)
        {
            return string.Empty;
        }

        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Revisions.AsNoTracking().Where(r => r.Revision == revision).Select(r => r.Marker)
                .SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>SQLite's journal mode (<c>wal</c> once migrated); null for PostgreSQL.</summary>
    public async Task<string?> JournalModeAsync(CancellationToken cancellationToken = default)
    {
        if (Provider != StorageProvider.Sqlite)
        {
            return null;
        }

        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Database.SqlQueryRaw<string>("SELECT journal_mode AS \"Value\" FROM pragma_journal_mode")
                .SingleAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the database answers.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Database.CanConnectAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Releases pooled SQLite connections, so the file can be moved or deleted.</summary>
    public void Dispose()
    {
        if (Provider == StorageProvider.Sqlite)
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }

        _writeGate.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static string PostgresLocation(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    private static Task<string> ReadDatabaseIdAsync(AuthzDbContext context, CancellationToken cancellationToken) =>
        context.RevisionCounter.AsNoTracking().Where(c => c.Id == 1).Select(c => c.DatabaseId).SingleAsync(cancellationToken);

    internal static Task<long> ReadRevisionAsync(AuthzDbContext context, CancellationToken cancellationToken) =>
        context.RevisionCounter.AsNoTracking().Where(c => c.Id == 1).Select(c => c.Revision).SingleAsync(cancellationToken);

    /// <summary>The database's clock, in UTC (the one that stamps writes and expires invitations).</summary>
    public DateTime UtcNow => _time.GetUtcNow().UtcDateTime;

    /// <summary>A new context on the database: a read opens one and disposes it (tests also use it to reach rows no API changes).</summary>
    internal AuthzDbContext OpenContext() => _createContext();

    /// <summary>
    /// Until the returned scope is disposed, every write of this asynchronous flow commits only on top of
    /// <paramref name="revision"/>: when the database has committed past it by the time the write takes the write lock
    /// (another replica wrote since the caller judged its change), the write throws <see cref="WriteConflictException"/>
    /// having changed nothing. A change judged on what one replica holds is thus committed only where that judgement
    /// still holds: a write is judged the same whichever replica receives it.
    /// </summary>
    public IDisposable JudgedAt(long revision)
    {
        var previous = _judgedAt.Value;
        _judgedAt.Value = revision;
        return new Scope(() => _judgedAt.Value = previous);
    }

    /// <summary>
    /// The one shape of every write: gate, transaction with the write lock, the body against a <see cref="UnitOfWork"/>,
    /// save, commit. A write named by <paramref name="operation"/> commits at the next revision and records it; a write
    /// with none (an API key's) consumes no revision and its unit of work carries the revision in force. The body
    /// returns its result and whether to commit (false rolls back, consuming no revision); an exception from it rolls
    /// back too.
    /// </summary>
    internal async Task<T> WriteAsync<T>(
        string? operation, string actor, Func<UnitOfWork, Task<(T Result, bool Commit)>> body, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(actor);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var context = _createContext();
            await using (context.ConfigureAwait(false))
            {
                var (transaction, counter) = await context.BeginWriteAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    if (_judgedAt.Value is { } judgedAt && counter.Revision != judgedAt)
                    {
                        throw new WriteConflictException(judgedAt, counter.Revision);
                    }

                    var revision = operation is null ? counter.Revision : counter.Revision + 1;
                    var now = UtcNow;
                    if (operation is not null)
                    {
                        // Staged before the body, so a body that saves part of its work early (the seed, in batches)
                        // can refer to its revision; a rollback discards it with the rest.
                        context.Revisions.Add(new RevisionRow
                        {
                            Revision = revision, CommittedAt = now, Actor = actor, Operation = operation, Marker = Guid.NewGuid().ToString("N"),
                        });
                    }

                    var (result, commit) = await body(new UnitOfWork(context, revision, now, actor)).ConfigureAwait(false);
                    if (!commit)
                    {
                        await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                        return result;
                    }

                    if (operation is not null)
                    {
                        counter.Revision = revision;
                    }

                    await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return result;
                }
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private sealed class Scope(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
