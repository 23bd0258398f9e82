namespace AuthzGrpc.Storage;

/// <summary>The database behind the store.</summary>
public enum StorageProvider
{
    /// <summary>A SQLite file (the embedded default), in WAL mode.</summary>
    Sqlite,

    /// <summary>PostgreSQL through Npgsql, for replicas that share one database.</summary>
    Postgres,
}
