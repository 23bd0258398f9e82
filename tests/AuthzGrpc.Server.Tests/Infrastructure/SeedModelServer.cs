using AuthzGrpc.Core.Validation;
using AuthzGrpc.Storage.Tests.Infrastructure;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// A real server seeded with a validation file's schema and relationships (<c>models/*.yaml</c>, copied beside the
/// tests), on a database of its own. Disposing it stops the server, drops the database and deletes the seed files.
/// </summary>
public sealed class SeedModelServer : IAsyncDisposable
{
    private readonly DirectoryInfo _folder;
    private readonly TestDatabase _database;

    private SeedModelServer(DirectoryInfo folder, TestDatabase database, StoreServer server)
    {
        _folder = folder;
        _database = database;
        Server = server;
    }

    /// <summary>The running server.</summary>
    public StoreServer Server { get; }

    /// <summary>Loads <c>models/<paramref name="file"/></c> and starts a server on it.</summary>
    public static Task<SeedModelServer> StartAsync(string file, string provider = "sqlite") =>
        StartAsync(ValidationFile.Load(Path.Combine(AppContext.BaseDirectory, "models", file)), provider);

    /// <summary>Starts a server on <paramref name="validation"/>'s schema and relationships, on a <paramref name="provider"/> database.</summary>
    public static async Task<SeedModelServer> StartAsync(ValidationFile validation, string provider = "sqlite")
    {
        ArgumentNullException.ThrowIfNull(validation);
        var folder = Directory.CreateTempSubdirectory("authz-seed-");
        var schema = Path.Combine(folder.FullName, "model.zed");
        var relationships = Path.Combine(folder.FullName, "model.relationships");
        await File.WriteAllTextAsync(schema, validation.SchemaText);
        await File.WriteAllLinesAsync(relationships, validation.Relationships.Select(r => r.ToString()));
        var database = TestDatabase.Create(provider);
        try
        {
            var server = await StoreServer.StartAsync(database, new Dictionary<string, string?>
            {
                ["Authz:SchemaFile"] = schema,
                ["Authz:RelationshipsFile"] = relationships,
            });
            return new SeedModelServer(folder, database, server);
        }
        catch
        {
            await database.DisposeAsync();
            folder.Delete(recursive: true);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await _database.DisposeAsync();
        _folder.Delete(recursive: true);
    }
}
