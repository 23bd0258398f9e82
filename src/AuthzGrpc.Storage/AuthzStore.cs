namespace AuthzGrpc.Storage;

/// <summary>
/// The source of truth, in SQLite or PostgreSQL: one store per aggregate over one database, whose writes share its
/// transaction scaffold (<see cref="AuthzDatabase.WriteAsync"/>) and its write lock. The model (schema, relationships,
/// revisions and their changes), the directory (objects' records, subjects' emails), the audit log, the invitations
/// and the API keys; and the backup of them all.
/// </summary>
public sealed class AuthzStore : IAsyncDisposable, IDisposable
{
    private AuthzStore(AuthzDatabase database)
    {
        Database = database;
        Model = new ModelStore(database);
        Directory = new DirectoryStore(database);
        Audit = new AuditLog(database);
        Invitations = new InvitationStore(database);
        ApiKeys = new ApiKeyStore(database);
        Backup = new BackupStore(database);
    }

    /// <summary>The database: its identity, migrations and clock.</summary>
    public AuthzDatabase Database { get; }

    /// <summary>The schema versions, the relationships and the revision log.</summary>
    public ModelStore Model { get; }

    /// <summary>Objects' names and descriptions, subjects' emails.</summary>
    public DirectoryStore Directory { get; }

    /// <summary>The audit log.</summary>
    public AuditLog Audit { get; }

    /// <summary>The invitations.</summary>
    public InvitationStore Invitations { get; }

    /// <summary>The API keys.</summary>
    public ApiKeyStore ApiKeys { get; }

    /// <summary>The whole state as rows (export), and a new database's state from them (restore).</summary>
    public BackupStore Backup { get; }

    /// <summary>
    /// Creates the stores over a database. For SQLite, a relative file path in <paramref name="connectionString"/> is
    /// resolved against the current directory and its folder is created. Nothing is opened until
    /// <see cref="AuthzDatabase.MigrateAsync"/>.
    /// </summary>
    public static AuthzStore Create(StorageProvider provider, string connectionString, TimeProvider? timeProvider = null) =>
        new(AuthzDatabase.Create(provider, connectionString, timeProvider));

    /// <inheritdoc cref="AuthzDatabase.Dispose"/>
    public void Dispose() => Database.Dispose();

    /// <inheritdoc cref="AuthzDatabase.Dispose"/>
    public ValueTask DisposeAsync() => Database.DisposeAsync();
}
