using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Schema;
using StackExchange.Redis;

namespace AuthzGrpc.Cache;

/// <summary>A check answered from the shared graph, or not (<see cref="Served"/> false: ask the source of truth).</summary>
/// <param name="Served">Whether the graph answered.</param>
/// <param name="Allowed">The decision, when served.</param>
/// <param name="Revision">The revision the answer reflects at least, when served.</param>
public readonly record struct GraphAnswer(bool Served, bool Allowed, long Revision)
{
    /// <summary>Not answered: the caller asks the source of truth.</summary>
    public static GraphAnswer NotServed => default;
}

public sealed partial class RedisGraph
{
    // Enough for any cold check of a model whose subject sets that name permissions nest a few levels deep; past it
    // the check goes to the source of truth rather than keep fetching.
    private const int MaxWaves = 16;

    [ThreadStatic]
    private static List<RecordKey>? t_missing;

    /// <summary>
    /// The hot path: answers from the near cache alone, without a network hop or an allocation, when every record the
    /// check needs is held and the cache is fresh enough for <paramref name="atLeast"/>. False otherwise (then call
    /// <see cref="CheckAsync"/>). The evaluation takes at most <paramref name="evaluationBudget"/> steps
    /// (<see cref="AuthzGrpc.Core.AuthzException"/> ResourceExhausted past it).
    /// </summary>
    public bool TryCheckNear(
        CompiledSchema schema, in CheckTarget target, string resourceId, string subjectId, long? atLeast, int evaluationBudget, out bool allowed, out long revision)
    {
        allowed = false;
        revision = _near.Revision;
        if (!ReferenceEquals(_near.Schema, schema) || revision < (atLeast ?? 0))
        {
            return false;
        }

        var missing = t_missing ??= [];
        missing.Clear();
        var result = RecordEvaluator.Check(
            _near, target.Permission, resourceId, target.SubjectType, subjectId, target.SubjectMember, missing, Now(schema), budget: evaluationBudget);
        if (result == RecordCheckResult.Incomplete)
        {
            return false;
        }

        Metrics.NearHit();
        allowed = result == RecordCheckResult.Allowed;
        return true;
    }

    /// <summary>
    /// Answers from the near cache and Redis: fetches the missing records in pipelined waves (the resource, the subject
    /// and its wildcard; then the resource's ancestors; more only for subject sets that name a permission). With
    /// <paramref name="atLeast"/> newer than the near cache, reads Redis's applied revision first and ignores the near
    /// cache. Not served — the caller asks the source of truth — when Redis is unavailable, fails, times out, holds
    /// another schema's graph, lost its graph, or has not applied <paramref name="atLeast"/>. Each evaluation takes at
    /// most <paramref name="evaluationBudget"/> steps and stops once <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<GraphAnswer> CheckAsync(
        CompiledSchema schema, CheckTarget target, string resourceId, string subjectId, long? atLeast, int evaluationBudget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (!IsAvailable)
        {
            Metrics.TruthServed();
            return GraphAnswer.NotServed;
        }

        try
        {
            var answer = await CheckRedisAsync(schema, target, resourceId, subjectId, atLeast, evaluationBudget, cancellationToken).ConfigureAwait(false);
            if (answer.Served)
            {
                Metrics.RedisServed();
            }
            else
            {
                Metrics.TruthServed();
            }

            return answer;
        }
        catch (Exception e) when (e is RedisException or TimeoutException or FormatException)
        {
            Fail(e);
            Metrics.TruthServed();
            return GraphAnswer.NotServed;
        }
    }

    private async Task<GraphAnswer> CheckRedisAsync(
        CompiledSchema schema, CheckTarget target, string resourceId, string subjectId, long? atLeast, int evaluationBudget, CancellationToken cancellationToken)
    {
        var database = Database;
        var generation = _near.Generation;
        if (!ReferenceEquals(_near.Schema, schema) || generation is null)
        {
            // The near cache is off or serves another schema: maintenance (re)starts it once Redis holds this schema's graph.
            RequestMaintenance();
            return GraphAnswer.NotServed;
        }

        var epoch = _near.Epoch;
        var answeredAt = _near.Revision;
        var useNear = answeredAt >= (atLeast ?? 0);
        if (!useNear)
        {
            // The token is newer than the invalidations seen here: prove Redis has applied it, then read only Redis.
            var meta = await WithTimeout(ReadMetaAsync(database), cancellationToken).ConfigureAwait(false);
            Metrics.RoundTrip(0, 0);
            if (meta is not { } m || m.Generation != generation || m.Applied < atLeast)
            {
                return GraphAnswer.NotServed;
            }

            answeredAt = m.Applied;
        }

        var view = new FetchedRecords(useNear ? _near : null);
        var missing = new List<RecordKey>();
        for (var wave = 0; wave < MaxWaves; wave++)
        {
            missing.Clear();
            var result = RecordEvaluator.Check(
                view, target.Permission, resourceId, target.SubjectType, subjectId, target.SubjectMember, missing, Now(schema),
                budget: evaluationBudget, cancellationToken: cancellationToken);
            if (result != RecordCheckResult.Incomplete)
            {
                return new GraphAnswer(true, result == RecordCheckResult.Allowed, answeredAt);
            }

            if (!await FetchAsync(database, schema, generation, missing, view, epoch, cancellationToken).ConfigureAwait(false))
            {
                return GraphAnswer.NotServed;
            }
        }

        return GraphAnswer.NotServed;
    }

    // One round trip: every missing record, then the meta hash, pipelined. The meta hash read last proves the records
    // read before it were not read from a flushed Redis (an absent key then really means "nothing stored").
    private async Task<bool> FetchAsync(
        IDatabase database, CompiledSchema schema, string generation, List<RecordKey> missing, FetchedRecords view, long epoch, CancellationToken cancellationToken)
    {
        var batch = database.CreateBatch();
        var reads = new Task<RedisValue>[missing.Count];
        var markers = new Task<bool>[missing.Count];
        for (var i = 0; i < missing.Count; i++)
        {
            var key = missing[i];
            var recordKey = Keys.Record(generation, schema.Types[key.Type].Name, key.Id);
            reads[i] = batch.StringGetAsync(recordKey);
            markers[i] = batch.KeyExistsAsync(Keys.SlotMarker(generation, GraphKeys.SlotOf((string)recordKey!)));
        }

        var metaRead = batch.HashGetAsync(Keys.Meta, MetaFields);
        batch.Execute();
        var fields = await WithTimeout(metaRead, cancellationToken).ConfigureAwait(false);
        var values = await WithTimeout(Task.WhenAll(reads), cancellationToken).ConfigureAwait(false);
        var marked = await WithTimeout(Task.WhenAll(markers), cancellationToken).ConfigureAwait(false);
        if (ParseMeta(fields) is not { } meta || meta.Generation != generation)
        {
            // Flushed, restarted empty, or rebuilt for another schema: nothing read can be trusted.
            RequestMaintenance();
            return false;
        }

        for (var i = 0; i < missing.Count; i++)
        {
            if (!values[i].HasValue && !marked[i])
            {
                // The primary of this record's slot lost the generation (restarted empty): "absent" proves nothing.
                if (Interlocked.Exchange(ref _incomplete, generation) != generation)
                {
                    Log.GraphIncomplete(_logger, generation);
                    // Every replica hears it: one that holds no engine (a check replica) cannot rebuild the graph itself.
                    _ = database.PublishAsync(Keys.Invalidations, $"v1 {generation} incomplete 0", CommandFlags.FireAndForget);
                }

                RequestMaintenance();
                return false;
            }
        }

        var found = 0;
        for (var i = 0; i < missing.Count; i++)
        {
            var key = missing[i];
            var type = schema.Types[key.Type];
            var value = values[i];
            GraphRecord record;
            if (value.HasValue)
            {
                record = GraphRecordCodec.Decode(type, key.Id, (byte[])value!, schema);
                found++;
            }
            else
            {
                record = GraphRecord.Empty(type, key.Id, meta.Applied);
            }

            view.Add(key, record);
            _near.Add(key, record, epoch);
        }

        Metrics.RoundTrip(found, missing.Count - found);
        return true;
    }

    private async Task<T> WithTimeout<T>(Task<T> task, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"Redis did not answer within {_timeout.TotalMilliseconds} ms", e);
        }
    }

    /// <summary>The records fetched for one check, over the near cache when it is fresh enough to be read.</summary>
    private sealed class FetchedRecords(NearCache? near) : IRecordView
    {
        private readonly Dictionary<RecordKey, GraphRecord> _fetched = [];

        public GraphRecord? Find(in RecordKey key) =>
            _fetched.TryGetValue(key, out var record) ? record : near?.Find(key);

        public void Add(RecordKey key, GraphRecord record) => _fetched[key] = record;
    }

    // The instant expiring relationships are judged at; the clock is read only when the schema lets something expire.
    private DateTimeOffset Now(CompiledSchema schema) => schema.UsesExpiration ? _clock.GetUtcNow() : default;
}
