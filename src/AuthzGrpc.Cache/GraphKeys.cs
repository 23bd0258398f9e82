using System.Security.Cryptography;
using System.Text;
using AuthzGrpc.Core.Schema;
using StackExchange.Redis;

namespace AuthzGrpc.Cache;

/// <summary>
/// The key layout, designed for Redis Cluster: each record is one key whose hash tag is the object
/// (<c>authz:&lt;database&gt;:7f3a….12.c0ffee42:{document:readme}</c>), so records spread over every slot and a check's
/// records are fetched with single-key commands pipelined together (no cross-slot command anywhere).
/// <para>
/// Every key and the channel sit under the prefix and the database's identity (<see cref="GraphBinding.DatabaseId"/>):
/// servers on different databases sharing one Redis never read, invalidate, lock or rebuild each other's graph, and a
/// database that was deleted and created again (a new identity) never meets the old one's records. The generation
/// segment is a hash of the schema text, the revision the graph was built at and a random part drawn by each rebuild:
/// records of another schema or of any other build are never read. The meta hash (<c>…:{meta}</c>: <c>gen</c>,
/// <c>applied</c>, <c>marker</c>) says which generation is complete, up to which revision, and which commit of that
/// revision (the database's marker of it); its absence means Redis lost the graph and it must be rebuilt.
/// </para>
/// </summary>
internal sealed class GraphKeys(string prefix, string databaseId)
{
    private readonly string _space = $"{prefix}:{databaseId}";

    public RedisKey Meta { get; } = $"{prefix}:{databaseId}:{{meta}}";

    public RedisKey Lock { get; } = $"{prefix}:{databaseId}:{{meta}}:lock";

    public RedisChannel Invalidations { get; } = RedisChannel.Literal($"{prefix}:{databaseId}:invalidations");

    public RedisKey Record(string generation, string type, string id) => $"{_space}:{generation}:{{{type}:{id}}}";

    public RedisValue RecordPattern(string generation) => $"{_space}:{generation}:*";

    /// <summary>A schema's identity in keys: the first 12 hex digits of the SHA-256 of its text.</summary>
    public static string SchemaHash(CompiledSchema schema) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema.Text)))[..12];

    /// <summary>
    /// A new generation for a graph built for <paramref name="schema"/> at <paramref name="revision"/>: each rebuild
    /// writes a fresh set of keys — even at a revision an earlier build had (a database restored from a backup) — so
    /// records of another build (objects since emptied, another history) can never be read.
    /// </summary>
    public static string NewGeneration(CompiledSchema schema, long revision) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SchemaHash(schema)}.{revision}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
}
