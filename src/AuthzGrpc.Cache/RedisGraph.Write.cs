using System.Text;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using StackExchange.Redis;

namespace AuthzGrpc.Cache;

/// <summary>
/// Reads the relationships changed by the revisions after <paramref name="after"/> through <paramref name="through"/>
/// from the source of truth, or null when one of them changed the schema (or the log has a gap): then the graph is
/// rebuilt rather than replayed.
/// </summary>
public delegate Task<IReadOnlyList<Relationship>?> ChangeReader(long after, long through, CancellationToken cancellationToken);

public sealed partial class RedisGraph
{
    private static readonly TimeSpan LockLease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(2);
    private const int WriteChunk = 500;

    private long _staleSince = -1;

    // The generation a check found a record missing from (its slot's marker gone): rebuilt by the next upkeep.
    private string? _incomplete;

    /// <summary>
    /// Brings Redis up to <paramref name="engine"/>'s revision — the write-through after a commit, and the repair
    /// after an outage: under a lock shared by every replica of the database, rewrites the records the revisions Redis
    /// lacks altered (read with <paramref name="changes"/>), moves the meta hash's applied revision and marker, and
    /// publishes the invalidation; rebuilds the whole graph under a new generation when Redis lost it, holds another
    /// schema, is too far behind, or holds a graph not built from this database's history (restored from a backup).
    /// An engine older than what Redis holds of this database's history changes nothing. Returns whether Redis holds
    /// the engine's revision; a Redis failure (or a database that cannot say whose graph Redis holds) is logged and
    /// answers false (the write it follows is committed regardless; checks carrying its token go to the source of
    /// truth until Redis catches up).
    /// </summary>
    public async Task<bool> PublishAsync(PermissionEngine engine, ChangeReader changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(changes);
        if (_connection is not { IsConnected: true })
        {
            return false;
        }

        try
        {
            var database = Database;
            var target = engine.Revision;
            var incomplete = Volatile.Read(ref _incomplete);
            // Up to date without the lock only when Redis holds exactly what this process last proved, through the
            // target: when that proof is older than the target (always, after this process's own commit), the read
            // could not succeed and is not made.
            var verified = Volatile.Read(ref _verified);
            if (verified is not null && verified.Applied >= target && await ReadMetaAsync(database).ConfigureAwait(false) is { } current &&
                Holds(current, engine.Schema, target) && current.Equals(verified) && current.Generation != incomplete)
            {
                return true;
            }

            var token = Guid.NewGuid().ToString("N");
            if (!await TakeLockAsync(database, token, cancellationToken).ConfigureAwait(false))
            {
                Log.GraphLockBusy(_logger, (long)LockWait.TotalMilliseconds, target);
                return false;
            }

            try
            {
                var meta = await ReadMetaAsync(database).ConfigureAwait(false);
                // A generation a check found records missing from (a primary restarted empty) is rebuilt, not kept.
                var ours = meta is not null && meta.Generation != incomplete && await IsOursAsync(meta, cancellationToken).ConfigureAwait(false);
                if (ours && (Holds(meta!, engine.Schema, target) || meta!.Applied > target))
                {
                    // Up to date, or another replica is ahead of this engine (it will catch up from the store).
                    return meta!.Applied >= target;
                }

                if (meta is not null && !ours && meta.Generation != incomplete)
                {
                    Log.GraphNotOurs(_logger, meta.Generation, meta.Applied);
                }

                var list = ours && SchemaHash(meta!) == SchemaHash(engine.Schema) && target - meta!.Applied <= _options.MaxReplayRevisions
                    ? await changes(meta.Applied, target, cancellationToken).ConfigureAwait(false)
                    : null;
                return list is null
                    ? await RebuildAsync(database, engine, meta, cancellationToken).ConfigureAwait(false)
                    : await ReplayAsync(database, engine, meta!, target, list, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (!await ReleaseLockAsync(database, token).ConfigureAwait(false))
                {
                    Log.GraphLockLost(_logger);
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Fail(e);
            return false;
        }
        catch (MarkerUnreadableException e)
        {
            // Committed regardless; checks carrying its token go to the source of truth until upkeep brings Redis up.
            Log.GraphUnproven(_logger, e.Message);
            return false;
        }
    }

    /// <summary>
    /// Periodic upkeep of a replica that writes: brings Redis up to <paramref name="engine"/> (<see cref="PublishAsync"/>),
    /// then follows it (<see cref="FollowAsync"/>).
    /// </summary>
    public async Task MaintainAsync(PermissionEngine engine, ChangeReader changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (_connection is not { IsConnected: true })
        {
            return;
        }

        await PublishAsync(engine, changes, cancellationToken).ConfigureAwait(false);
        await FollowAsync(engine.Schema, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Periodic upkeep of every replica, and all a check replica does (it holds no engine to publish): turns the near
    /// cache on once Redis holds <paramref name="schema"/>'s graph, proven built from this database's history (after a
    /// start, a reconnect, a rebuild), and drops it when Redis moved on and no invalidation arrived to say so twice in a
    /// row (a lost message). Writes nothing to Redis.
    /// </summary>
    public async Task FollowAsync(CompiledSchema schema, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (_connection is not { IsConnected: true })
        {
            return;
        }

        await SubscribeAsync().ConfigureAwait(false);
        try
        {
            if (!_subscribed || await ReadMetaAsync(Database).ConfigureAwait(false) is not { } meta || SchemaHash(meta) != SchemaHash(schema) ||
                meta.Generation == Volatile.Read(ref _incomplete) || !await IsOursAsync(meta, cancellationToken).ConfigureAwait(false))
            {
                _near.TurnOff();
                return;
            }

            Interlocked.Exchange(ref _retryAfterTicks, 0);
            var near = _near.Revision;
            if (!ReferenceEquals(_near.Schema, schema) || _near.Generation != meta.Generation)
            {
                _near.Reset(schema, meta.Generation, meta.Applied);
                Metrics.Invalidated(everything: true);
                Log.NearCacheServing(_logger, meta.Generation, meta.Applied);
            }
            else if (meta.Applied > near && _staleSince == near)
            {
                _near.Reset(schema, meta.Generation, meta.Applied);
                Metrics.Invalidated(everything: true);
                Log.InvalidationsMissed(_logger, near, meta.Applied);
            }

            _staleSince = meta.Applied > _near.Revision ? _near.Revision : -1;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Fail(e);
        }
        catch (MarkerUnreadableException e)
        {
            _near.TurnOff();
            Log.GraphUnproven(_logger, e.Message);
        }
    }

    private static string SchemaHash(CompiledSchema schema) => GraphKeys.SchemaHash(schema);

    private static string SchemaHash(GraphMeta meta) => meta.Generation.Split('.')[0];

    private static bool Holds(GraphMeta meta, CompiledSchema schema, long revision) =>
        SchemaHash(meta) == SchemaHash(schema) && meta.Applied >= revision;

    private async Task<bool> TakeLockAsync(IDatabase database, string token, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)LockWait.TotalMilliseconds;
        while (!await database.LockTakeAsync(Keys.Lock, token, LockLease).ConfigureAwait(false))
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    // Compare-and-delete as one script, not LockRelease's WATCH/GET/MULTI/DEL transaction: on a Redis Cluster, while the
    // lock's slot moves, the transaction meets an ASK redirection it cannot follow and releases nothing, which left
    // the lock taken for its whole lease and every write-through meanwhile skipped; a single command follows it.
    private const string ReleaseLockScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    private async Task<bool> ReleaseLockAsync(IDatabase database, string token) =>
        (long)await database.ScriptEvaluateAsync(ReleaseLockScript, [Keys.Lock], [token]).ConfigureAwait(false) == 1;

    // False when the database has not committed the engine's revision (it went back under this process: restored):
    // nothing is written for a history the database no longer has.
    private async Task<bool> ReplayAsync(
        IDatabase database, PermissionEngine engine, GraphMeta meta, long target, IReadOnlyList<Relationship> changes, CancellationToken cancellationToken)
    {
        if (await ReadMarkerAsync(target, cancellationToken).ConfigureAwait(false) is not { } marker)
        {
            return false;
        }

        var affected = engine.AffectedRecords(changes);
        var contents = affected.Select(a => engine.DescribeRecord(a.Type, a.Id)).ToList();
        await WriteRecordsAsync(database, meta.Generation, contents).ConfigureAwait(false);

        // One command: the applied revision and whose commit it is move together.
        await database.HashSetAsync(Keys.Meta, [new HashEntry("applied", target), new HashEntry("marker", marker)]).ConfigureAwait(false);
        Volatile.Write(ref _verified, meta with { Applied = target, Marker = marker });

        string message;
        if (affected.Count > _options.MaxInvalidationKeys)
        {
            message = $"v1 {meta.Generation} reset {target}";
            _near.Reset(engine.Schema, meta.Generation, target);
        }
        else
        {
            var text = new StringBuilder($"v1 {meta.Generation} {meta.Applied} {target}");
            foreach (var (type, id) in affected)
            {
                text.Append(' ').Append(type).Append(':').Append(id);
            }

            message = text.ToString();

            // This replica's own cache is invalidated before the write is acknowledged, not when the message comes back.
            _near.Invalidate(meta.Generation, meta.Applied, target, affected.Select(a => new RecordKey(engine.Schema.RequireType(a.Type).Index, a.Id)));
        }

        await database.PublishAsync(Keys.Invalidations, message).ConfigureAwait(false);
        return true;
    }

    // A complete graph under a new generation; the meta hash moves to it only once every record is written, so no
    // reader sees half of it; the previous generation's keys are deleted afterwards. False (nothing written) when the
    // database has not committed the engine's revision: it went back under this process (restored from a backup).
    private async Task<bool> RebuildAsync(IDatabase database, PermissionEngine engine, GraphMeta? previous, CancellationToken cancellationToken)
    {
        var started = Environment.TickCount64;
        var revision = engine.Revision;
        var contents = engine.DescribeAllRecords();
        if (contents.Count > 0)
        {
            revision = contents[0].Revision;
        }

        if (await ReadMarkerAsync(revision, cancellationToken).ConfigureAwait(false) is not { } marker)
        {
            return false;
        }

        var generation = GraphKeys.NewGeneration(engine.Schema, revision);
        await WriteRecordsAsync(database, generation, contents).ConfigureAwait(false);
        await WriteSlotMarkersAsync(database, generation).ConfigureAwait(false);
        await database.HashSetAsync(Keys.Meta, [new HashEntry("gen", generation), new HashEntry("applied", revision), new HashEntry("marker", marker)])
            .ConfigureAwait(false);
        Volatile.Write(ref _verified, new GraphMeta(generation, revision, marker));
        _near.Reset(engine.Schema, generation, revision);
        await database.PublishAsync(Keys.Invalidations, $"v1 {generation} reset {revision}").ConfigureAwait(false);
        Log.GraphRebuilt(_logger, contents.Count, revision, generation, Environment.TickCount64 - started);
        if (previous is { } old && old.Generation != generation)
        {
            await DeleteGenerationAsync(old.Generation).ConfigureAwait(false);
        }

        return true;
    }

    private async Task WriteRecordsAsync(IDatabase database, string generation, IReadOnlyList<RecordContent> contents)
    {
        for (var start = 0; start < contents.Count; start += WriteChunk)
        {
            var batch = database.CreateBatch();
            var writes = new List<Task>(WriteChunk);
            foreach (var content in contents.Skip(start).Take(WriteChunk))
            {
                var key = Keys.Record(generation, content.Type, content.Id);
                writes.Add(content.IsEmpty ? batch.KeyDeleteAsync(key) : batch.StringSetAsync(key, GraphRecordCodec.Encode(content)));
            }

            batch.Execute();
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
    }

    private async Task WriteSlotMarkersAsync(IDatabase database, string generation)
    {
        for (var start = 0; start < GraphKeys.SlotCount; start += WriteChunk)
        {
            var batch = database.CreateBatch();
            var writes = new List<Task>(WriteChunk);
            for (var slot = start; slot < Math.Min(start + WriteChunk, GraphKeys.SlotCount); slot++)
            {
                writes.Add(batch.StringSetAsync(Keys.SlotMarker(generation, slot), 1));
            }

            batch.Execute();
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
    }

    private async Task DeleteGenerationAsync(string generation)
    {
        var connection = _connection!;
        var deleted = 0;
        foreach (var endpoint in connection.GetEndPoints())
        {
            var server = connection.GetServer(endpoint);
            if (!server.IsConnected || server.IsReplica)
            {
                continue;
            }

            var chunk = new List<RedisKey>(WriteChunk);
            await foreach (var key in server.KeysAsync(pattern: Keys.RecordPattern(generation), pageSize: WriteChunk).ConfigureAwait(false))
            {
                chunk.Add(key);
                if (chunk.Count == WriteChunk)
                {
                    deleted += await DeleteAsync(chunk).ConfigureAwait(false);
                }
            }

            deleted += await DeleteAsync(chunk).ConfigureAwait(false);
        }

        Log.GenerationDeleted(_logger, generation, deleted);
    }

    // Key by key: in a cluster the keys of one chunk live in different slots.
    private async Task<int> DeleteAsync(List<RedisKey> keys)
    {
        var database = Database;
        var batch = database.CreateBatch();
        var deletes = keys.Select(k => batch.KeyDeleteAsync(k, CommandFlags.FireAndForget)).ToList();
        batch.Execute();
        await Task.WhenAll(deletes).ConfigureAwait(false);
        var count = keys.Count;
        keys.Clear();
        return count;
    }
}
