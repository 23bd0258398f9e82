using Microsoft.Extensions.Logging;

namespace AuthzGrpc.Cache;

/// <summary>The cache's log messages, source-generated; event ids 200–219 are stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 200, EventName = "RedisConnectionLost", Level = LogLevel.Warning,
        Message = "Lost the connection to Redis ({Reason}); checks are answered from the source of truth until it is back")]
    public static partial void ConnectionLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 201, EventName = "RedisFailed", Level = LogLevel.Warning,
        Message = "A Redis call failed ({Reason}); checks are answered from the source of truth for a while")]
    public static partial void RedisFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 202, EventName = "GraphRebuilt", Level = LogLevel.Information,
        Message = "Rebuilt the shared graph in Redis: {RecordCount} records at revision {Revision}, generation {Generation}, in {ElapsedMilliseconds} ms")]
    public static partial void GraphRebuilt(ILogger logger, int recordCount, long revision, string generation, long elapsedMilliseconds);

    [LoggerMessage(EventId = 203, EventName = "GenerationDeleted", Level = LogLevel.Information,
        Message = "Deleted {KeyCount} keys of the previous graph generation {Generation}")]
    public static partial void GenerationDeleted(ILogger logger, string generation, int keyCount);

    [LoggerMessage(EventId = 204, EventName = "NearCacheServing", Level = LogLevel.Information,
        Message = "Serving checks from the shared graph: generation {Generation}, fresh at revision {Revision}")]
    public static partial void NearCacheServing(ILogger logger, string generation, long revision);

    [LoggerMessage(EventId = 205, EventName = "InvalidationsMissed", Level = LogLevel.Warning,
        Message = "Redis is at revision {Applied} but no invalidation moved the near cache past {Revision}; dropped it")]
    public static partial void InvalidationsMissed(ILogger logger, long revision, long applied);

    [LoggerMessage(EventId = 206, EventName = "GraphNotOurs", Level = LogLevel.Warning,
        Message = "The shared graph in Redis (generation {Generation}, revision {Applied}) was not built from this database's history (a backup was restored, or a copy of the database wrote it); it is rebuilt and never served")]
    public static partial void GraphNotOurs(ILogger logger, string generation, long applied);

    [LoggerMessage(EventId = 207, EventName = "GraphUnproven", Level = LogLevel.Warning,
        Message = "Could not prove the shared graph in Redis is this database's ({Reason}); checks are answered from the source of truth until it can")]
    public static partial void GraphUnproven(ILogger logger, string reason);

    [LoggerMessage(EventId = 208, EventName = "GraphLockBusy", Level = LogLevel.Warning,
        Message = "The shared graph's write lock stayed taken for {WaitMilliseconds} ms; Redis stays behind revision {Revision} until a later write or upkeep brings it up")]
    public static partial void GraphLockBusy(ILogger logger, long waitMilliseconds, long revision);

    [LoggerMessage(EventId = 209, EventName = "GraphLockLost", Level = LogLevel.Warning,
        Message = "The shared graph's write lock was no longer this replica's when released (its lease had run out)")]
    public static partial void GraphLockLost(ILogger logger);

    [LoggerMessage(EventId = 210, EventName = "GraphIncomplete", Level = LogLevel.Warning,
        Message = "Records of the shared graph's generation {Generation} are missing from Redis (a primary restarted empty); checks are answered from the source of truth until it is rebuilt")]
    public static partial void GraphIncomplete(ILogger logger, string generation);
}
