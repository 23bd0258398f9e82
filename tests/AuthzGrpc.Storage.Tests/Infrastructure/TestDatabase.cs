using Microsoft.Data.Sqlite;
using Npgsql;

namespace AuthzGrpc.Storage.Tests.Infrastructure;

/// <summary>
/// A new, empty database for one test: a SQLite file in a temporary folder, or — when the environment variable
/// <c>AUTHZ_TEST_POSTGRES</c> holds a connection string — a PostgreSQL database of its own (created by the first
/// migration, dropped on dispose). Disposing it deletes everything it made.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    /// <summary>The environment variable holding a PostgreSQL connection string (its user needs CREATEDB).</summary>
    public const string PostgresVariable = "AUTHZ_TEST_POSTGRES";

    private readonly string? _folder;
    private readonly string? _postgresDatabase;

    private TestDatabase(StorageProvider provider, string connectionString, string? folder, string? postgresDatabase)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _folder = folder;
        _postgresDatabase = postgresDatabase;
    }

    /// <summary>The provider.</summary>
    public StorageProvider Provider { get; }

    /// <summary>The connection string of the test's database.</summary>
    public string ConnectionString { get; }

    /// <summary>The provider's configuration name (<c>sqlite</c> or <c>postgres</c>), as <c>Authz:Storage:Provider</c> takes it.</summary>
    public string ProviderName => Name(Provider);

    /// <summary>The PostgreSQL connection string of the environment, or null.</summary>
    public static string? PostgresConnectionString =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } value ? value : null;

    /// <summary>
    /// The providers to test: SQLite always, PostgreSQL only when <see cref="PostgresVariable"/> is set — otherwise
    /// its cases are not generated at all (nothing is reported as skipped).
    /// </summary>
    public static IEnumerable<StorageProvider> Providers =>
        PostgresConnectionString is null ? [StorageProvider.Sqlite] : [StorageProvider.Sqlite, StorageProvider.Postgres];

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
    /// <paramref name="postgresBaseline"/> (a connection string), else of <see cref="PostgresVariable"/>.
    /// </summary>
    public static TestDatabase Create(StorageProvider provider, string? postgresBaseline = null)
    {
        if (provider == StorageProvider.Sqlite)
        {
            var folder = Directory.CreateTempSubdirectory("authz-store-").FullName;
            return new TestDatabase(provider, $"Data Source={Path.Combine(folder, "authz.db")}", folder, null);
        }

        var baseline = postgresBaseline ?? PostgresConnectionString
            ?? throw new InvalidOperationException($"{PostgresVariable} is not set");
        var database = $"authz_test_{Guid.NewGuid():N}";
        var builder = new NpgsqlConnectionStringBuilder(baseline) { Database = database };
        return new TestDatabase(provider, builder.ConnectionString, null, database);
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
            // The server's maintenance database: the baseline's when the environment names one, else postgres.
            var maintenance = new NpgsqlConnectionStringBuilder(PostgresConnectionString ?? ConnectionString) { Pooling = false };
            maintenance.Database = PostgresConnectionString is null ? "postgres" : maintenance.Database;
            await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"DROP DATABASE IF EXISTS \"{_postgresDatabase}\" WITH (FORCE)";
            await command.ExecuteNonQueryAsync();
        }
    }

    private static string Name(StorageProvider provider) => provider == StorageProvider.Sqlite ? "sqlite" : "postgres";
}
