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

    /// <summary>
    /// The key of <paramref name="generation"/>'s marker in hash slot <paramref name="slot"/>. A rebuild writes one into
    /// every slot before the meta hash names the generation, so a record read as absent counts as empty only while the
    /// marker of its slot is there too: a cluster primary that restarted empty lost its markers with its records, which
    /// the meta hash, on another primary, cannot tell.
    /// </summary>
    public RedisKey SlotMarker(string generation, int slot) => $"{_space}:{generation}:{{{SlotTags.Value[slot]}}}";

    /// <summary>The hash slot of <paramref name="key"/>, as Redis computes it: CRC16 of its hash tag when it has one.</summary>
    public static int SlotOf(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0)
        {
            var close = key.IndexOf('}', open + 1);
            if (close > open + 1)
            {
                key = key[(open + 1)..close];
            }
        }

        var crc = 0;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            crc ^= b << 8;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
        }

        return crc & (SlotCount - 1);
    }

    /// <summary>The hash slots of Redis (a cluster spreads them over its primaries; a single server holds them all).</summary>
    public const int SlotCount = 16384;

    // A hash tag for each slot ("~<n>", the first n landing in it): no record's tag, which always holds a ':'.
    private static readonly Lazy<string[]> SlotTags = new(() =>
    {
        var tags = new string?[SlotCount];
        var found = 0;
        for (var n = 0; found < SlotCount; n++)
        {
            var tag = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"~{n}");
            var slot = SlotOf(tag);
            if (tags[slot] is null)
            {
                tags[slot] = tag;
                found++;
            }
        }

        return tags!;
    });

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
