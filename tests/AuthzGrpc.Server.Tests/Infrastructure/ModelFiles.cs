using AuthzGrpc.Testing;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>The settings of a server whose new database is seeded from a schema of the test's own and no relationships.</summary>
internal static class ModelFiles
{
    /// <summary>Writes <paramref name="schema"/> and an empty relationships file into <paramref name="folder"/>; the settings that seed from them, on <paramref name="redis"/>.</summary>
    public static Dictionary<string, string?> Settings(DirectoryInfo folder, RedisProcess redis, string schema)
    {
        var schemaFile = Path.Combine(folder.FullName, "schema.zed");
        var relationshipsFile = Path.Combine(folder.FullName, "empty.relationships");
        File.WriteAllText(schemaFile, schema);
        File.WriteAllText(relationshipsFile, string.Empty);
        return new Dictionary<string, string?>
        {
            ["Authz:SchemaFile"] = schemaFile,
            ["Authz:RelationshipsFile"] = relationshipsFile,
            ["Authz:Redis:Configuration"] = redis.Configuration,
        };
    }
}
