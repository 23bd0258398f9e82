using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// A set of node ids tuned for the common case of a handful of entries: up to <see cref="SmallLimit"/> ids live in
/// a plain array scanned linearly (cheaper than hashing at that size and 10x smaller than a <see cref="HashSet{T}"/>);
/// past that it switches to a hash set. Not thread-safe: the graph guards it.
/// </summary>
internal sealed class NodeSet
{
    private const int SmallLimit = 8;
    private int[] _small = new int[2];
    private int _count;
    private HashSet<int>? _large;

    public int Count => _large?.Count ?? _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(int id)
    {
        if (_large is not null)
        {
            return _large.Contains(id);
        }

        var small = _small;
        for (var i = 0; i < _count; i++)
        {
            if (small[i] == id)
            {
                return true;
            }
        }

        return false;
    }

    public bool Add(int id)
    {
        if (_large is not null)
        {
            return _large.Add(id);
        }

        if (Contains(id))
        {
            return false;
        }

        if (_count == SmallLimit)
        {
            _large = new HashSet<int>(_small.AsSpan(0, _count).ToArray()) { id };
            _small = [];
            _count = 0;
            return true;
        }

        if (_count == _small.Length)
        {
            Array.Resize(ref _small, _small.Length * 2);
        }

        _small[_count++] = id;
        return true;
    }

    public bool Remove(int id)
    {
        if (_large is not null)
        {
            return _large.Remove(id);
        }

        for (var i = 0; i < _count; i++)
        {
            if (_small[i] == id)
            {
                _small[i] = _small[--_count];
                return true;
            }
        }

        return false;
    }

    /// <summary>True when some id is in both sets; probes the larger with the smaller's entries.</summary>
    public static bool Intersects(NodeSet? a, NodeSet? b)
    {
        if (a is null || b is null || a.Count == 0 || b.Count == 0)
        {
            return false;
        }

        if (a.Count > b.Count)
        {
            (a, b) = (b, a);
        }

        foreach (var id in a)
        {
            if (b.Contains(id))
            {
                return true;
            }
        }

        return false;
    }

    public Enumerator GetEnumerator() => new(this);

    public int[] ToArray()
    {
        var result = new int[Count];
        var i = 0;
        foreach (var id in this)
        {
            result[i++] = id;
        }

        return result;
    }

    /// <summary>Allocation-free enumeration over either representation.</summary>
    public struct Enumerator
    {
        private readonly NodeSet _set;
        private HashSet<int>.Enumerator _large;
        private int _index;

        internal Enumerator(NodeSet set)
        {
            _set = set;
            _index = -1;
            _large = set._large?.GetEnumerator() ?? default;
        }

        public readonly int Current => _set._large is not null ? _large.Current : _set._small[_index];

        public bool MoveNext() => _set._large is not null ? _large.MoveNext() : ++_index < _set._count;
    }
}
