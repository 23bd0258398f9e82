using System.Globalization;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Sync;

/// <summary>
/// Keeps the engine in force in step with the store when other replicas write to the same database: applies the
/// revisions the engine has not seen, in order, from the store's change log (<see cref="ModelStore.ReadChangesAsync"/>);
/// a revision that changed the schema (or the seed) rebuilds the engine from the store instead.
/// <para>
/// Everything that moves the engine forward — <see cref="ModelWriter"/>'s writes and this catch-up — holds
/// <see cref="WriteLock"/>, so revisions are applied exactly once and in order. Readers never take it unless they asked
/// for a revision the engine has not reached (<c>at_least</c>, <c>fully_consistent</c>).
/// </para>
/// </summary>
internal sealed class EngineSync(ModelStore model, EngineHolder holder, ILogger<EngineSync> logger) : IDisposable
{
    /// <summary>How many revisions one read of the change log brings.</summary>
    public const int ChangeBatch = 500;

    private TaskCompletionSource _advanced = NewSignal();

    // What the last reads of the store's newest revision found, kept for the metrics so a scrape costs no database call.
    private long _newestCommitted;
    private long _storeReadTimestamp;

    /// <summary>The lock around everything that moves the engine forward (writes and catch-up).</summary>
    public SemaphoreSlim WriteLock { get; } = new(1, 1);

    /// <summary>A task that completes the next time the engine moves to a newer revision (a write here or a catch-up).</summary>
    public Task Advanced => Volatile.Read(ref _advanced).Task;

    /// <summary>
    /// The newest revision this replica has seen the store commit: what the background poll and fully_consistent
    /// requests last read (0 before the first read). The engine may be ahead of it (this replica's own writes).
    /// </summary>
    public long NewestCommittedRevision => Interlocked.Read(ref _newestCommitted);

    /// <summary>When the store's newest revision was last read (<see cref="System.Diagnostics.Stopwatch"/> ticks); 0 before the first read.</summary>
    public long StoreReadTimestamp => Interlocked.Read(ref _storeReadTimestamp);

    /// <summary>
    /// The engine to answer from under <paramref name="consistency"/>: the engine in force for <c>minimize_latency</c>
    /// and for an <c>at_least</c> revision it has reached — synchronously, without a store call; otherwise after
    /// catching up. Throws <see cref="AuthzException"/> FailedPrecondition for a revision newer than the store's newest.
    /// </summary>
    public ValueTask<PermissionEngine> EngineForAsync(ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var engine = holder.Current;
        return consistency.Requirement switch
        {
            ConsistencyRequirement.AtLeast when engine.Revision < consistency.Revision => new(AtLeastAsync(consistency.Revision, cancellationToken)),
            ConsistencyRequirement.FullyConsistent => new(FullyConsistentAsync(cancellationToken)),
            _ => new(engine),
        };
    }

    /// <summary>Applies every revision the store has committed beyond the engine's (the background poll).</summary>
    public async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        var committed = await model.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
        NoteStoreRevision(committed);
        if (holder.Current.Revision >= committed)
        {
            return;
        }

        await WriteLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CatchUpLockedAsync(committed, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            WriteLock.Release();
        }
    }

    /// <summary>
    /// With <see cref="WriteLock"/> held: applies the revisions after the engine's, up to <paramref name="target"/> (or
    /// to the newest when null). Returns the engine in force afterwards, which may still be older than
    /// <paramref name="target"/> when the store has not committed it.
    /// </summary>
    public async Task<PermissionEngine> CatchUpLockedAsync(long? target, CancellationToken cancellationToken)
    {
        var engine = holder.Current;
        var start = engine.Revision;
        while (target is not { } t || engine.Revision < t)
        {
            var before = engine.Revision;
            var batch = await model.ReadChangesAsync(engine.Revision, ChangeBatch, cancellationToken).ConfigureAwait(false);
            foreach (var revision in batch)
            {
                if (revision.Revision <= engine.Revision)
                {
                    continue;
                }

                if (revision.Revision != engine.Revision + 1 || ChangesSchema(revision.Operation))
                {
                    engine = await RebuildLockedAsync(engine, cancellationToken).ConfigureAwait(false);
                    break;
                }

                engine = await ApplyLockedAsync(engine, [.. revision.Changes.Select(c => new RelationshipUpdate(c.Operation, c.Relationship))], revision.Revision)
                    .ConfigureAwait(false);
            }

            if (engine.Revision == before || (batch.Count < ChangeBatch && engine.Revision >= batch[^1].Revision))
            {
                break;
            }
        }

        if (engine.Revision != start)
        {
            Log.EngineCaughtUp(logger, start, engine.Revision);
        }

        return engine;
    }

    /// <summary>
    /// With <see cref="WriteLock"/> held, after this process committed <paramref name="updates"/> at
    /// <paramref name="revision"/>: applies them to the engine — after the revisions other replicas committed before
    /// it, read from the change log, when the engine is behind. Should applying fail (a bug), rebuilds from the store.
    /// </summary>
    public async Task ApplyCommittedLockedAsync(IReadOnlyList<RelationshipUpdate> updates, long revision)
    {
        var engine = holder.Current;
        if (engine.Revision >= revision)
        {
            return;
        }

        if (engine.Revision == revision - 1)
        {
            await ApplyLockedAsync(engine, updates, revision).ConfigureAwait(false);
            return;
        }

        // Another replica committed in between: replay the log through this revision (it holds this write too).
        await CatchUpLockedAsync(revision, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// The relationships changed by the revisions after <paramref name="after"/> through <paramref name="through"/>, from
    /// the change log; null when one of them changed the schema or the log has a gap (the shared graph is then rebuilt
    /// instead of replayed).
    /// </summary>
    public async Task<IReadOnlyList<Relationship>?> ReadChangedRelationshipsAsync(long after, long through, CancellationToken cancellationToken)
    {
        var changed = new List<Relationship>();
        while (after < through)
        {
            var batch = await model.ReadChangesAsync(after, ChangeBatch, cancellationToken).ConfigureAwait(false);
            foreach (var revision in batch)
            {
                if (revision.Revision > through)
                {
                    return changed;
                }

                if (revision.Revision != after + 1 || ChangesSchema(revision.Operation))
                {
                    return null;
                }

                changed.AddRange(revision.Changes.Select(c => c.Relationship));
                after = revision.Revision;
            }

            if (batch.Count == 0)
            {
                return null;
            }
        }

        return changed;
    }

    /// <summary>Remembers that the store has committed <paramref name="committed"/>, read just now.</summary>
    public void NoteStoreRevision(long committed)
    {
        // Only forward: a read that started earlier and finishes later must not move it back.
        var seen = Interlocked.Read(ref _newestCommitted);
        while (committed > seen)
        {
            var found = Interlocked.CompareExchange(ref _newestCommitted, committed, seen);
            if (found == seen)
            {
                break;
            }

            seen = found;
        }

        Interlocked.Exchange(ref _storeReadTimestamp, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    /// <summary>With <see cref="WriteLock"/> held: puts a new engine in force and wakes whoever waits for a revision.</summary>
    public void SwapLocked(PermissionEngine engine)
    {
        holder.Swap(engine);
        Signal();
    }

    /// <inheritdoc/>
    public void Dispose() => WriteLock.Dispose();

    private static bool ChangesSchema(string operation) => operation is "WriteSchema" or "Seed" or "RestoreBackup";

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Signal() => Interlocked.Exchange(ref _advanced, NewSignal()).TrySetResult();

    private async Task<PermissionEngine> AtLeastAsync(long token, CancellationToken cancellationToken)
    {
        await WriteLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        PermissionEngine engine;
        try
        {
            engine = await CatchUpLockedAsync(token, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            WriteLock.Release();
        }

        if (engine.Revision < token)
        {
            throw NotCommitted(token, engine.Revision);
        }

        return engine;
    }

    /// <summary>
    /// The refusal of a consistency token newer than the store's <paramref name="newest"/> revision (FAILED_PRECONDITION):
    /// a replica never waits for a revision nobody has committed.
    /// </summary>
    internal static AuthzException NotCommitted(long token, long newest) =>
        new(
            AuthzErrorKind.FailedPrecondition,
            string.Create(
                CultureInfo.InvariantCulture,
                $"consistency.at_least: revision {token} is not committed (the newest is {newest}): pass a token a write or a check returned"));

    private async Task<PermissionEngine> FullyConsistentAsync(CancellationToken cancellationToken)
    {
        var committed = await model.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
        NoteStoreRevision(committed);
        var engine = holder.Current;
        if (engine.Revision >= committed)
        {
            return engine;
        }

        await WriteLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CatchUpLockedAsync(committed, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            WriteLock.Release();
        }
    }

    private async Task<PermissionEngine> ApplyLockedAsync(PermissionEngine engine, IReadOnlyList<RelationshipUpdate> updates, long revision)
    {
        try
        {
            engine.Write(updates, revision);
            Signal();
            return engine;
        }
#pragma warning disable CA1031 // Any failure here leaves the engine behind the store; recovering is the only answer.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.EngineRebuilt(logger, revision, e);
            return await RebuildLockedAsync(engine, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // The store is the truth: the newest schema and every relationship, from one snapshot.
    private async Task<PermissionEngine> RebuildLockedAsync(PermissionEngine engine, CancellationToken cancellationToken)
    {
        var rebuilt = await ModelLoader.ReadEngineAsync(
            model,
            (text, revision) => revision <= engine.Revision ? null
                : string.Equals(text, engine.Schema.Text, StringComparison.Ordinal) ? engine.Schema
                : CompiledSchema.Compile(text),
            cancellationToken).ConfigureAwait(false);
        if (rebuilt is null)
        {
            return engine;
        }

        SwapLocked(rebuilt);
        return rebuilt;
    }
}

/// <summary>
/// Polls the store every <see cref="AuthzOptions.SyncIntervalMilliseconds"/> and catches the engine up, so an idle
/// replica converges on what other replicas wrote without waiting for a request that asks for it.
/// </summary>
internal sealed class EngineSyncService(EngineSync sync, EngineHolder holder, Microsoft.Extensions.Options.IOptions<AuthzOptions> options, ILogger<EngineSyncService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(options.Value.SyncIntervalMilliseconds);
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!holder.IsLoaded)
                {
                    continue;
                }

                try
                {
                    await sync.CatchUpAsync(stoppingToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The poll must survive a database outage; the next tick retries (stopping ends it).
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    Log.EngineSyncFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
