using System.Security.Cryptography;
using System.Text;
using AuthzGrpc.Core.Schema;
using StackExchange.Redis;

namespace AuthzGrpc.Cache;

/// <summary>
/// The key layout, designed for Redis Cluster: each record is one key whose hash tag is the object
/// (<c>authz:7f3a…:{document:readme}</c>), so records spread over every slot and a check's records are fetched with
/// single-key commands pipelined together (no cross-slot command anywhere). The generation segment is a hash of the
/// schema text and the revision the graph was built at: records of another schema or an older build are never read.
/// The meta hash (<c>authz:{meta}</c>: <c>gen</c>, <c>applied</c>) says which generation is complete and up to which
/// revision; its absence means Redis lost the graph (flushed, restarted empty) and it must be rebuilt.
/// </summary>
internal sealed class GraphKeys(string prefix)
{
    public RedisKey Meta { get; } = $"{prefix}:{{meta}}";

    public RedisKey Lock { get; } = $"{prefix}:{{meta}}:lock";

    public RedisChannel Invalidations { get; } = RedisChannel.Literal($"{prefix}:invalidations");

    public RedisKey Record(string generation, string type, string id) => $"{prefix}:{generation}:{{{type}:{id}}}";

    public RedisValue RecordPattern(string generation) => $"{prefix}:{generation}:*";

    /// <summary>A schema's identity in keys: the first 12 hex digits of the SHA-256 of its text.</summary>
    public static string SchemaHash(CompiledSchema schema) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema.Text)))[..12];

    /// <summary>
    /// The generation of a graph built for <paramref name="schema"/> at <paramref name="revision"/>: each rebuild writes a
    /// fresh set of keys, so records of an older build (objects since emptied) can never be read.
    /// </summary>
    public static string Generation(CompiledSchema schema, long revision) =>
        $"{SchemaHash(schema)}.{revision.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
