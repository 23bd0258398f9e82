using AuthzGrpc.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace AuthzGrpc.Storage.Tests.Infrastructure;

/// <summary>
/// A new, empty database for one test: a SQLite file in a temporary folder, or a PostgreSQL database of its own
/// (created by the first migration, dropped on dispose) on the test run's PostgreSQL — the server the environment
/// variable <c>AUTHZ_TEST_POSTGRES</c> names, else one <see cref="PostgresProcess"/> started at the first PostgreSQL
/// database the run asks for and stopped when the run ends. Disposing it deletes everything it made.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    /// <summary>The environment variable holding a PostgreSQL connection string (its user needs CREATEDB).</summary>
    public const string PostgresVariable = "AUTHZ_TEST_POSTGRES";

    // One server for every PostgreSQL case of the run: a cluster per test would cost seconds each.
    private static readonly Lazy<string> s_runPostgres = new(StartRunPostgres);

    private readonly string? _folder;
    private readonly string? _postgresDatabase;
    private readonly string? _postgresBaseline;

    private TestDatabase(StorageProvider provider, string connectionString, string? folder, string? postgresDatabase, string? postgresBaseline)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _folder = folder;
        _postgresDatabase = postgresDatabase;
        _postgresBaseline = postgresBaseline;
    }

    /// <summary>The provider.</summary>
    public StorageProvider Provider { get; }

    /// <summary>The connection string of the test's database.</summary>
    public string ConnectionString { get; }

    /// <summary>The provider's configuration name (<c>sqlite</c> or <c>postgres</c>), as <c>Authz:Storage:Provider</c> takes it.</summary>
    public string ProviderName => Name(Provider);

    /// <summary>
    /// A connection string for the <c>postgres</c> database of the test run's PostgreSQL as a user who may create
    /// databases: <see cref="PostgresVariable"/>'s when set, else the run's own server's (started by the first call).
    /// </summary>
    public static string PostgresConnectionString =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } value ? value : s_runPostgres.Value;

    /// <summary>The providers to test: SQLite and PostgreSQL.</summary>
    public static IEnumerable<StorageProvider> Providers => [StorageProvider.Sqlite, StorageProvider.Postgres];

    /// <summary><see cref="Providers"/> as theory data, by configuration name.</summary>
    public static TheoryData<string> ProviderNames => [.. Providers.Select(Name)];

    /// <summary>The provider named <c>sqlite</c> or <c>postgres</c>.</summary>
    public static StorageProvider Parse(string name) => name switch
    {
        "sqlite" => StorageProvider.Sqlite,
        "postgres" => StorageProvider.Postgres,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "sqlite or postgres"),
    };

    /// <summary>Makes a new database for <paramref name="provider"/> (by name).</summary>
    public static TestDatabase Create(string provider) => Create(Parse(provider));

    /// <summary>
    /// Makes a new database for <paramref name="provider"/>; a PostgreSQL one on the server of
    /// <paramref name="postgresBaseline"/> (a connection string), else on the run's (<see cref="PostgresConnectionString"/>).
    /// </summary>
    public static TestDatabase Create(StorageProvider provider, string? postgresBaseline = null)
    {
        if (provider == StorageProvider.Sqlite)
        {
            var folder = Directory.CreateTempSubdirectory("authz-store-").FullName;
            return new TestDatabase(provider, $"Data Source={Path.Combine(folder, "authz.db")}", folder, null, null);
        }

        var baseline = postgresBaseline ?? PostgresConnectionString;
        var database = $"authz_test_{Guid.NewGuid():N}";
        var builder = new NpgsqlConnectionStringBuilder(baseline) { Database = database };
        return new TestDatabase(provider, builder.ConnectionString, null, database, baseline);
    }

    /// <summary>A store on this database (not yet migrated).</summary>
    public AuthzStore CreateStore(TimeProvider? time = null) => AuthzStore.Create(Provider, ConnectionString, time);

    /// <summary>A migrated store on this database.</summary>
    public async Task<AuthzStore> CreateMigratedStoreAsync()
    {
        var store = CreateStore();
        await store.Database.MigrateAsync();
        return store;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_folder is not null)
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_folder, recursive: true);
        }

        if (_postgresDatabase is not null)
        {
            NpgsqlConnection.ClearAllPools();
            // The baseline's database: the server's maintenance database, never the one dropped.
            var maintenance = new NpgsqlConnectionStringBuilder(_postgresBaseline) { Pooling = false };
            await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"DROP DATABASE IF EXISTS \"{_postgresDatabase}\" WITH (FORCE)";
            await command.ExecuteNonQueryAsync();
        }
    }

    // Started off the caller's synchronization context (Create is synchronous); stopped once the test process is gone.
    private static string StartRunPostgres()
    {
        var postgres = Task.Run(PostgresProcess.StartAsync).GetAwaiter().GetResult();
        postgres.StopAfterThisProcessExits();
        return postgres.ConnectionString;
    }

    private static string Name(StorageProvider provider) => provider == StorageProvider.Sqlite ? "sqlite" : "postgres";
}
