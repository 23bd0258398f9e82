using AuthzGrpc.Core;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Hosting;

/// <summary>Reads the schema and relationships files of <see cref="AuthzOptions"/> into a <see cref="PermissionEngine"/>.</summary>
internal sealed class ModelLoader(IOptions<AuthzOptions> options, ILogger<ModelLoader> logger)
{
    /// <summary>Loads the model; throws <see cref="ModelLoadException"/> (after logging it) when a file is unusable.</summary>
    public PermissionEngine Load()
    {
        AuthzOptions settings;
        try
        {
            settings = options.Value;
        }
        catch (OptionsValidationException e)
        {
            throw Fail($"invalid configuration: {string.Join("; ", e.Failures)}", e);
        }

        var schemaPath = Path.GetFullPath(settings.SchemaFile);
        CompiledSchema schema;
        try
        {
            schema = CompiledSchema.Compile(ReadText(schemaPath, "schema"));
        }
        catch (SchemaException e)
        {
            throw Fail($"{schemaPath}:{e.Line}:{e.Column}: {e.Detail}", e);
        }

        Log.SchemaLoaded(logger, schemaPath, schema.Types.Count);
        var engine = new PermissionEngine(schema);
        if (string.IsNullOrEmpty(settings.RelationshipsFile))
        {
            Log.NoRelationshipsFile(logger);
            return engine;
        }

        var relationshipsPath = Path.GetFullPath(settings.RelationshipsFile);
        var relationships = Parse(relationshipsPath, ReadText(relationshipsPath, "relationships"));
        try
        {
            engine.Add(relationships);
        }
        catch (AuthzException e)
        {
            engine.Dispose();
            throw Fail($"{relationshipsPath}: {e.Message}", e);
        }

        Log.RelationshipsLoaded(logger, engine.RelationshipCount, relationshipsPath, engine.Revision);
        return engine;
    }

    private List<Relationship> Parse(string path, string text)
    {
        var relationships = new List<Relationship>();
        var lineNumber = 0;
        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.IsEmpty || line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                relationships.Add(Relationship.Parse(line.ToString()));
            }
            catch (FormatException e)
            {
                throw Fail($"{path}:{lineNumber}: {e.Message}", e);
            }
        }

        return relationships;
    }

    private string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail($"cannot read the {what} file '{path}': {e.Message}", e);
        }
    }

    private ModelLoadException Fail(string reason, Exception inner)
    {
        Log.ModelLoadFailed(logger, reason);
        return new ModelLoadException(reason, inner);
    }
}
