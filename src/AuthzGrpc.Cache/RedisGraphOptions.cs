using System.ComponentModel.DataAnnotations;

namespace AuthzGrpc.Cache;

/// <summary>Where the shared permission graph lives and how long the serving path waits for it (section <c>Authz:Redis</c>).</summary>
public sealed class RedisGraphOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>. Empty (the default) turns the shared graph
    /// off: every check is answered from the replica's own model.
    /// </summary>
    public string Configuration { get; set; } = string.Empty;

    /// <summary>The first segment of every key and of the invalidation channel, so several deployments can share one Redis. Default <c>authz</c>.</summary>
    [RegularExpression("^[A-Za-z0-9_.-]{1,32}$")]
    public string KeyPrefix { get; set; } = "authz";

    /// <summary>
    /// How long a check waits for Redis before answering from the source of truth instead (default 250 ms). Writes to
    /// Redis (write-through, rebuilds) wait up to the larger of this and 5 s.
    /// </summary>
    [Range(10, 60_000)]
    public int TimeoutMilliseconds { get; set; } = 250;

    /// <summary>After a Redis failure, how long checks skip Redis before trying it again (default 1000 ms).</summary>
    [Range(0, 600_000)]
    public int RetryAfterFailureMilliseconds { get; set; } = 1000;

    /// <summary>
    /// The near cache's budget, in stored subjects and closure entries summed over the records it holds (default
    /// 2,000,000: some hundreds of MB at most). Past it, the records not read since the last sweep are dropped.
    /// </summary>
    [Range(1_000, int.MaxValue)]
    public int NearCacheMaxWeight { get; set; } = 2_000_000;

    /// <summary>An invalidation naming more records than this (default 10,000) tells every replica to drop its whole near cache instead.</summary>
    [Range(1, 1_000_000)]
    public int MaxInvalidationKeys { get; set; } = 10_000;

    /// <summary>When Redis is more than this many revisions behind (default 10,000), it is rebuilt from the model instead of replayed.</summary>
    [Range(1, int.MaxValue)]
    public int MaxReplayRevisions { get; set; } = 10_000;
}
