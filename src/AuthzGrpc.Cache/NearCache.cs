using System.Collections.Concurrent;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Cache;

/// <summary>
/// The records this process holds in front of Redis, for one schema generation, valid up to <see cref="Revision"/>:
/// every invalidation published through that revision has been applied, so each record held reflects at least it.
/// <para>
/// Freshness is only ever proven by invalidations: a message that follows the previous one moves
/// <see cref="Revision"/> and drops the records it names; a message after a gap, a reconnect or a new generation drops
/// everything; while Redis is unreachable the cache is off (<see cref="IsServing"/> false), since invalidations could
/// be missed. A record fetched while an invalidation was applied is used for that check but not kept
/// (<see cref="Epoch"/>), so a fetch racing an invalidation can never pin a stale record.
/// </para>
/// Bounded by weight (<see cref="RedisGraphOptions.NearCacheMaxWeight"/>): past it, a CLOCK sweep drops the records
/// not read since the previous sweep. Reads take no lock; fills and invalidations take one.
/// </summary>
internal sealed class NearCache(int maxWeight) : IRecordView
{
    private readonly ConcurrentDictionary<RecordKey, Entry> _entries = new();
    private readonly Lock _lock = new();
    private long _weight;
    private long _revision = -1;
    private long _epoch;
    private State? _state;

    /// <summary>The schema and generation the records belong to; null while off.</summary>
    public CompiledSchema? Schema => Volatile.Read(ref _state)?.Schema;

    /// <summary>The generation the records belong to; null while off.</summary>
    public string? Generation => Volatile.Read(ref _state)?.Generation;

    /// <summary>Whether the cache can be read: on, for a known generation.</summary>
    public bool IsServing => Volatile.Read(ref _state) is not null;

    /// <summary>Every record held reflects at least this revision (-1 while off).</summary>
    public long Revision => Interlocked.Read(ref _revision);

    /// <summary>Changes whenever records are dropped: a fill started under another epoch is not kept.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>How many records are held.</summary>
    public int Count => _entries.Count;

    /// <summary>The summed weight of the records held.</summary>
    public long Weight => Interlocked.Read(ref _weight);

    /// <inheritdoc/>
    public GraphRecord? Find(in RecordKey key)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            entry.Touched = true;
            return entry.Record;
        }

        return null;
    }

    /// <summary>Keeps a fetched record, unless something was dropped since the fetch began (<paramref name="epoch"/>) or the cache is off.</summary>
    public void Add(RecordKey key, GraphRecord record, long epoch)
    {
        lock (_lock)
        {
            if (_epoch != epoch || _state is null)
            {
                return;
            }

            if (_entries.TryGetValue(key, out var old))
            {
                _weight -= Weigh(old.Record);
            }

            _entries[key] = new Entry(record);
            _weight += Weigh(record);
            if (_weight > maxWeight)
            {
                SweepLocked();
            }
        }
    }

    /// <summary>
    /// Applies an invalidation of <paramref name="generation"/> covering revisions after <paramref name="from"/> up to
    /// <paramref name="to"/>: drops <paramref name="keys"/> when it follows what was applied, everything after a gap.
    /// Returns whether it dropped everything.
    /// </summary>
    public bool Invalidate(string generation, long from, long to, IEnumerable<RecordKey> keys)
    {
        lock (_lock)
        {
            if (_state is null || _state.Generation != generation || to <= _revision)
            {
                return false;
            }

            if (from > _revision)
            {
                ResetLocked(_state, to);
                return true;
            }

            foreach (var key in keys)
            {
                if (_entries.TryRemove(key, out var entry))
                {
                    _weight -= Weigh(entry.Record);
                }
            }

            _epoch++;
            Interlocked.Exchange(ref _revision, to);
            return false;
        }
    }

    /// <summary>Drops everything and serves <paramref name="schema"/>'s generation from <paramref name="revision"/> on.</summary>
    public void Reset(CompiledSchema schema, string generation, long revision)
    {
        lock (_lock)
        {
            ResetLocked(new State(schema, generation), revision);
        }
    }

    /// <summary>Drops everything and stops serving until the next <see cref="Reset"/>.</summary>
    public void TurnOff()
    {
        lock (_lock)
        {
            ResetLocked(null, -1);
        }
    }

    private static int Weigh(GraphRecord record) => record.Weight + 1;

    private void ResetLocked(State? state, long revision)
    {
        _entries.Clear();
        _weight = 0;
        _epoch++;
        Interlocked.Exchange(ref _revision, revision);
        Volatile.Write(ref _state, state);
    }

    // CLOCK: drop what was not read since the last sweep, clear the mark on the rest, until under 90% of the budget.
    private void SweepLocked()
    {
        var target = maxWeight * 9L / 10;
        for (var pass = 0; pass < 2 && _weight > target; pass++)
        {
            foreach (var (key, entry) in _entries)
            {
                if (_weight <= target)
                {
                    break;
                }

                if (entry.Touched && pass == 0)
                {
                    entry.Touched = false;
                }
                else if (_entries.TryRemove(key, out var removed))
                {
                    _weight -= Weigh(removed.Record);
                }
            }
        }
    }

    private sealed record State(CompiledSchema Schema, string Generation);

    private sealed class Entry(GraphRecord record)
    {
        public GraphRecord Record { get; } = record;

        // Written without a lock by readers: a lost mark only makes the record a little more likely to be swept.
        public bool Touched { get; set; }
    }
}
