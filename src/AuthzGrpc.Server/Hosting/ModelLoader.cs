using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Storage;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// Opens the source of truth (applying its migrations) and loads the engine from it: the newest schema version and
/// every stored relationship, at the stored revision. A new database is first seeded, as one revision, from the
/// schema and relationships files of <see cref="AuthzOptions"/>; after that the files are not read again.
/// </summary>
internal sealed class ModelLoader(IOptions<AuthzOptions> options, AuthzStore store, EngineHolder holder, ILogger<ModelLoader> logger)
{
    /// <summary>
    /// The actor recorded for what the server writes on its own at start: the seed revision here, the bootstrap admin
    /// key in <see cref="Authentication.ApiKeyBootstrap"/>.
    /// </summary>
    public const string SystemActor = "system";

    /// <summary>
    /// Creates the store of the configured provider; throws <see cref="ModelLoadException"/> (after logging it) when the
    /// options are unusable.
    /// </summary>
    public static AuthzStore CreateStore(IServiceProvider services)
    {
        var logger = services.GetRequiredService<ILogger<ModelLoader>>();
        StorageOptions storage;
        try
        {
            storage = services.GetRequiredService<IOptions<AuthzOptions>>().Value.Storage;
        }
        catch (OptionsValidationException e)
        {
            throw Fail(logger, $"invalid configuration: {string.Join("; ", e.Failures)}", e);
        }

        StorageProvider provider;
        if (string.Equals(storage.Provider, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            provider = StorageProvider.Sqlite;
        }
        else if (string.Equals(storage.Provider, "postgres", StringComparison.OrdinalIgnoreCase))
        {
            provider = StorageProvider.Postgres;
        }
        else
        {
            throw Fail(logger, $"Authz:Storage:Provider '{storage.Provider}' is not known: use sqlite or postgres", null);
        }

        var connectionString = storage.ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            if (provider == StorageProvider.Postgres)
            {
                throw Fail(logger, "Authz:Storage:ConnectionString is required with the postgres provider, e.g. Host=127.0.0.1;Username=authz;Password=...;Database=authz", null);
            }

            connectionString = StorageOptions.DefaultConnectionString;
        }

        try
        {
            // The server's clock (TimeProvider, the system's unless replaced) dates invitations, expiries and audit events.
            return AuthzStore.Create(provider, connectionString, services.GetService<TimeProvider>());
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or FormatException)
        {
            // The message of a malformed connection string never echoes it (it may hold a password).
            throw Fail(logger, $"Authz:Storage:ConnectionString is not usable for {storage.Provider}: {e.Message}", e);
        }
    }

    /// <summary>Builds an engine for <paramref name="schema"/> holding <paramref name="relationships"/> at <paramref name="revision"/>.</summary>
    public static PermissionEngine BuildEngine(CompiledSchema schema, IEnumerable<Relationship> relationships, long revision)
    {
        var builder = new EngineBuilder(schema);
        builder.Add(relationships);
        return builder.Build(revision);
    }

    /// <summary>
    /// Builds an engine from what <paramref name="model"/> stores, read a batch at a time from one snapshot, under the
    /// schema <paramref name="schemaFor"/> gives for the stored schema's text and revision; null when no schema is stored
    /// or <paramref name="schemaFor"/> gives none (the stored revision is not wanted). A relationship that does not fit
    /// the schema throws its <see cref="AuthzException"/>.
    /// </summary>
    public static async Task<PermissionEngine?> ReadEngineAsync(
        ModelStore model, Func<string, long, CompiledSchema?> schemaFor, CancellationToken cancellationToken)
    {
        EngineBuilder? builder = null;
        long revision = 0;
        await model.LoadAsync(
            (schemaText, stored) =>
            {
                if (schemaText is null || schemaFor(schemaText, stored) is not { } schema)
                {
                    return null;
                }

                revision = stored;
                builder = new EngineBuilder(schema);
                return builder.Add;
            },
            cancellationToken).ConfigureAwait(false);
        return builder?.Build(revision);
    }

    /// <summary>Loads the model into the <see cref="EngineHolder"/>; throws <see cref="ModelLoadException"/> (after logging it) when it cannot.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        AuthzOptions settings;
        try
        {
            settings = options.Value;
        }
        catch (OptionsValidationException e)
        {
            throw Fail(logger, $"invalid configuration: {string.Join("; ", e.Failures)}", e);
        }

        PermissionEngine? engine;
        try
        {
            await store.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            Log.StorageOpened(logger, store.Database.Provider, store.Database.Location);
            engine = await ReadStoredAsync(cancellationToken).ConfigureAwait(false);
            if (engine is null)
            {
                var (schema, file) = ReadFiles(settings);
                using (file)
                {
                    var seeded = await store.Model.SeedAsync(schema.Text, file?.Read() ?? [], SystemActor, file?.Name, cancellationToken).ConfigureAwait(false);
                    if (seeded is { } revision)
                    {
                        if (file is not null)
                        {
                            Log.RelationshipsLoaded(logger, file.Count, file.Path, revision);
                        }

                        Log.StorageSeeded(logger, revision, file?.Count ?? 0);
                    }
                }

                // Load what is stored now: this seed, or another process's that came first.
                engine = await ReadStoredAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not ModelLoadException and not OperationCanceledException)
        {
            throw Fail(logger, $"cannot open the {store.Database.Provider} storage at {store.Database.Location}: {e.Message}", e);
        }

        holder.Swap(engine ?? throw Fail(logger, $"no schema is stored at {store.Database.Location} after the seed", null));

        // The load's garbage (every row read, and the versions of the sets that grew) is gone now: give its memory
        // back, so that a replica's resident size is what its engine holds rather than what loading it took.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    // The engine of what is stored (null when nothing is yet), with the stored schema compiled and every relationship
    // fitting it: either failing stops the start.
    private async Task<PermissionEngine?> ReadStoredAsync(CancellationToken cancellationToken)
    {
        PermissionEngine? engine;
        try
        {
            engine = await ReadEngineAsync(store.Model, (text, _) => CompileStored(text), cancellationToken).ConfigureAwait(false);
        }
        catch (AuthzException e)
        {
            throw Fail(logger, $"a relationship stored at {store.Database.Location} does not fit the stored schema: {e.Message}", e);
        }

        if (engine is not null)
        {
            Log.ModelLoadedFromStorage(logger, engine.Schema.Types.Count, engine.RelationshipCount, engine.Revision);
            foreach (var warning in engine.Schema.Warnings)
            {
                Log.SchemaWarning(logger, store.Database.Location, warning);
            }
        }

        return engine;
    }

    private CompiledSchema CompileStored(string text)
    {
        try
        {
            return CompiledSchema.Compile(text);
        }
        catch (SchemaException e)
        {
            throw Fail(logger, $"the schema stored at {store.Database.Location} does not compile: {e.Message}", e);
        }
    }

    // The seed: the schema file, compiled, and the relationships file, opened to be read (and validated) as it is stored.
    private (CompiledSchema Schema, RelationshipsFile? Relationships) ReadFiles(AuthzOptions settings)
    {
        var schemaPath = Path.GetFullPath(settings.SchemaFile);
        CompiledSchema schema;
        try
        {
            // It seeds a new database: a write, refused what SpiceDB refuses at write.
            schema = CompiledSchema.CompileForWrite(ReadText(schemaPath, "schema"));
        }
        catch (SchemaException e)
        {
            throw Fail(logger, $"{schemaPath}:{e.Line}:{e.Column}: {e.Detail}", e);
        }

        Log.SchemaLoaded(logger, schemaPath, schema.Types.Count);
        if (string.IsNullOrEmpty(settings.RelationshipsFile))
        {
            Log.NoRelationshipsFile(logger);
            return (schema, null);
        }

        var relationshipsPath = Path.GetFullPath(settings.RelationshipsFile);
        try
        {
            return (schema, new RelationshipsFile(relationshipsPath, schema, new StreamReader(relationshipsPath, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16), logger));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(logger, $"cannot read the relationships file '{relationshipsPath}': {e.Message}", e);
        }
    }

    /// <summary>
    /// The relationships file of a seed, read a line at a time as the store writes it: each relationship parsed and
    /// validated against the compiled schema as a write to an engine of it would be (so the seed refuses exactly what the
    /// engine refuses, without an engine of the whole file), a failure naming the file's path and line.
    /// </summary>
    private sealed class RelationshipsFile(string path, CompiledSchema schema, StreamReader reader, ILogger logger) : IDisposable
    {
        public string Path { get; } = path;

        /// <summary>The file's name, as the seed's audit event records it.</summary>
        public string Name => System.IO.Path.GetFileName(Path);

        /// <summary>How many relationships (lines that are neither blank nor comments) have been read.</summary>
        public int Count { get; private set; }

        /// <summary>The file's relationships in order; throws <see cref="ModelLoadException"/> at the first line it refuses.</summary>
        public IEnumerable<Relationship> Read()
        {
            var lineNumber = 0;
            while (ReadLine() is { } rawLine)
            {
                lineNumber++;
                var line = rawLine.AsSpan().Trim();
                if (line.IsEmpty || line.StartsWith("//", StringComparison.Ordinal))
                {
                    continue;
                }

                Relationship relationship;
                try
                {
                    relationship = Relationship.Parse(line.ToString());
                    schema.ValidateRelationship(relationship);
                }
                catch (Exception e) when (e is FormatException or AuthzException)
                {
                    throw Fail(logger, $"{Path}:{lineNumber}: {e.Message}", e);
                }

                Count++;
                yield return relationship;
            }
        }

        public void Dispose() => reader.Dispose();

        private string? ReadLine()
        {
            try
            {
                return reader.ReadLine();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Fail(logger, $"cannot read the relationships file '{Path}': {e.Message}", e);
            }
        }
    }

    private string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(logger, $"cannot read the {what} file '{path}': {e.Message}", e);
        }
    }

    /// <summary>Logs <paramref name="reason"/> at Critical and returns the exception that stops the start.</summary>
    internal static ModelLoadException Fail(ILogger logger, string reason, Exception? inner)
    {
        Log.ModelLoadFailed(logger, reason);
        return new ModelLoadException(reason, inner);
    }
}
