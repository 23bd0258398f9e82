using System.Diagnostics.Metrics;

namespace AuthzGrpc.Cache;

/// <summary>
/// The cache's instruments, under the meter <see cref="MeterName"/>, and the same counts as plain numbers for
/// diagnostics and tests (<see cref="Snapshot"/>).
/// </summary>
public sealed class CacheMetrics : IDisposable
{
    /// <summary>The meter every cache instrument belongs to.</summary>
    public const string MeterName = "AuthzGrpc.Cache";

    private static readonly KeyValuePair<string, object?> FromNear = new("source", "near_cache");
    private static readonly KeyValuePair<string, object?> FromRedis = new("source", "redis");
    private static readonly KeyValuePair<string, object?> FromTruth = new("source", "source_of_truth");
    private static readonly KeyValuePair<string, object?> Found = new("result", "found");
    private static readonly KeyValuePair<string, object?> Absent = new("result", "absent");
    private static readonly KeyValuePair<string, object?> Keys = new("kind", "keys");
    private static readonly KeyValuePair<string, object?> Everything = new("kind", "everything");

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _checks;
    private readonly Counter<long> _records;
    private readonly Counter<long> _roundTrips;
    private readonly Counter<long> _invalidations;
    private readonly Counter<long> _failures;
    private long _near;
    private long _redis;
    private long _truth;
    private long _roundTripCount;
    private long _recordsFound;
    private long _recordsAbsent;
    private long _invalidationCount;
    private long _resets;
    private long _failureCount;

    internal CacheMetrics()
    {
        _checks = _meter.CreateCounter<long>("authz.cache.checks", "{check}", "Checks by where their records came from: near_cache (no network), redis, source_of_truth (Redis unusable).");
        _records = _meter.CreateCounter<long>("authz.cache.redis.records", "{record}", "Records read from Redis: found, or absent (an object with nothing stored).");
        _roundTrips = _meter.CreateCounter<long>("authz.cache.redis.round_trips", "{round_trip}", "Pipelined round trips to Redis made by checks.");
        _invalidations = _meter.CreateCounter<long>("authz.cache.invalidations", "{invalidation}", "Invalidations applied to the near cache: keys (named records) or everything (gap, reconnect, rebuild).");
        _failures = _meter.CreateCounter<long>("authz.cache.redis.failures", "{failure}", "Redis calls that failed or timed out; each sends checks to the source of truth for a while.");
    }

    /// <summary>Registers the gauges that read <paramref name="near"/> and <paramref name="graph"/>.</summary>
    internal void Observe(NearCache near, RedisGraph graph)
    {
        _meter.CreateObservableGauge("authz.cache.near.records", () => near.Count, "{record}", "Records held by the near cache.");
        _meter.CreateObservableGauge("authz.cache.near.weight", () => near.Weight, "{entry}", "Stored subjects and closure entries held by the near cache (its budget is Authz:Redis:NearCacheMaxWeight).");
        _meter.CreateObservableGauge("authz.cache.near.revision", () => near.Revision, "{revision}", "The revision the near cache is known fresh at (-1 while off).");
        _meter.CreateObservableGauge("authz.cache.redis.available", () => graph.IsAvailable ? 1 : 0, "{boolean}", "1 while checks can use Redis, 0 while degraded to the source of truth.");
    }

    /// <summary>The counts so far.</summary>
    public CacheStatistics Snapshot() => new(
        Interlocked.Read(ref _near), Interlocked.Read(ref _redis), Interlocked.Read(ref _truth), Interlocked.Read(ref _roundTripCount),
        Interlocked.Read(ref _recordsFound), Interlocked.Read(ref _recordsAbsent), Interlocked.Read(ref _invalidationCount),
        Interlocked.Read(ref _resets), Interlocked.Read(ref _failureCount));

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();

    internal void NearHit()
    {
        Interlocked.Increment(ref _near);
        _checks.Add(1, FromNear);
    }

    internal void RedisServed()
    {
        Interlocked.Increment(ref _redis);
        _checks.Add(1, FromRedis);
    }

    internal void TruthServed()
    {
        Interlocked.Increment(ref _truth);
        _checks.Add(1, FromTruth);
    }

    internal void RoundTrip(int found, int absent)
    {
        Interlocked.Increment(ref _roundTripCount);
        Interlocked.Add(ref _recordsFound, found);
        Interlocked.Add(ref _recordsAbsent, absent);
        _roundTrips.Add(1);
        _records.Add(found, Found);
        _records.Add(absent, Absent);
    }

    internal void Invalidated(bool everything)
    {
        Interlocked.Increment(ref everything ? ref _resets : ref _invalidationCount);
        _invalidations.Add(1, everything ? Everything : Keys);
    }

    internal void Failed()
    {
        Interlocked.Increment(ref _failureCount);
        _failures.Add(1);
    }
}

/// <summary>Cache counts since the process started.</summary>
/// <param name="NearCacheChecks">Checks answered from the near cache alone.</param>
/// <param name="RedisChecks">Checks that fetched records from Redis.</param>
/// <param name="SourceOfTruthChecks">Checks answered without the shared graph (Redis down, slow, rebuilding, or behind the token).</param>
/// <param name="RoundTrips">Pipelined round trips to Redis made by checks.</param>
/// <param name="RecordsFound">Records fetched that Redis held.</param>
/// <param name="RecordsAbsent">Records fetched that Redis did not hold (nothing stored about the object).</param>
/// <param name="Invalidations">Invalidation messages applied key by key.</param>
/// <param name="Resets">Times the near cache dropped everything (gap, reconnect, rebuild, schema).</param>
/// <param name="Failures">Redis calls that failed or timed out.</param>
public readonly record struct CacheStatistics(
    long NearCacheChecks, long RedisChecks, long SourceOfTruthChecks, long RoundTrips, long RecordsFound, long RecordsAbsent,
    long Invalidations, long Resets, long Failures)
{
    /// <summary>Near-cache checks over checks served by the shared graph (0 when none).</summary>
    public double NearCacheHitRate => NearCacheChecks + RedisChecks == 0 ? 0 : (double)NearCacheChecks / (NearCacheChecks + RedisChecks);
}
