using System.ComponentModel.DataAnnotations;

namespace AuthzGrpc.Server.Hosting;

/// <summary>The server's model and limits, bound from the configuration section <c>Authz</c>.</summary>
public sealed class AuthzOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Authz";

    /// <summary>
    /// The schema file loaded at start (<c>Authz:SchemaFile</c>). Default <c>models/default.zed</c>; a relative
    /// path is resolved against the current directory. A schema that does not compile stops the server.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string SchemaFile { get; set; } = "models/default.zed";

    /// <summary>
    /// The relationships loaded at start (<c>Authz:RelationshipsFile</c>), one <c>resource#relation@subject</c> a
    /// line; blank lines and <c>//</c> comments are skipped. Default <c>models/default.relationships</c>; a relative
    /// path is resolved against the current directory. Null or empty starts with no relationships.
    /// </summary>
    public string? RelationshipsFile { get; set; } = "models/default.relationships";

    /// <summary>
    /// The most checks one BatchCheck may carry (<c>Authz:MaxBatchCheckItems</c>); a larger batch is rejected with
    /// INVALID_ARGUMENT. Default 1000.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxBatchCheckItems { get; set; } = 1000;
}
