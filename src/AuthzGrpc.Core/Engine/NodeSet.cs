using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// A set of node ids tuned for the common case of a handful of entries: up to <see cref="SmallLimit"/> ids live in
/// a plain array scanned linearly (cheaper than hashing at that size); past that, in a <see cref="NodeTrie"/>.
/// Immutable once published: a write changes the copy <see cref="Owned"/> gives it, so readers need no lock.
/// </summary>
internal sealed class NodeSet
{
    private const int SmallLimit = 8;

    /// <summary>The set with no ids, shared.</summary>
    public static readonly NodeSet Empty = new(null);

    private readonly WriteEdit? _owner;
    private int[] _small = [];
    private int _count;
    private NodeTrie? _large;

    private NodeSet(WriteEdit? owner) => _owner = owner;

    public int Count => _count;

    /// <summary>
    /// The set a write may change in place: <paramref name="set"/> itself when <paramref name="edit"/> owns it, else a
    /// copy it owns (a new empty one for null), stored back in <paramref name="set"/>.
    /// </summary>
    public static NodeSet Owned(ref NodeSet? set, WriteEdit edit) => set = (set ?? Empty).Mutable(edit);

    /// <summary>This set when <paramref name="edit"/> owns it, else a copy it owns.</summary>
    public NodeSet Mutable(WriteEdit edit)
    {
        if (_owner == edit)
        {
            return this;
        }

        var copy = new NodeSet(edit) { _count = _count, _large = _large };
        if (_large is null)
        {
            copy._small = new int[Math.Min(_count + 1, SmallLimit)];
            _small.AsSpan(0, _count).CopyTo(copy._small);
        }

        return copy;
    }

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

    /// <summary>Adds <paramref name="id"/> to a set <paramref name="edit"/> owns (see <see cref="Owned"/>).</summary>
    public bool Add(int id, WriteEdit edit)
    {
        Debug.Assert(_owner == edit, "only the write that owns a set changes it");
        if (_large is not null)
        {
            var added = false;
            return KeepLarge(_large.Add(id, 0, edit, ref added), added ? 1 : 0);
        }

        if (Contains(id))
        {
            return false;
        }

        if (_count == SmallLimit)
        {
            _large = NodeTrie.Of([.. _small.AsSpan(0, _count), id], edit);
            _small = [];
            _count++;
            return true;
        }

        if (_count == _small.Length)
        {
            Array.Resize(ref _small, Math.Max(2, _small.Length * 2));
        }

        _small[_count++] = id;
        return true;
    }

    /// <summary>Removes <paramref name="id"/> from a set <paramref name="edit"/> owns (see <see cref="Owned"/>).</summary>
    public bool Remove(int id, WriteEdit edit)
    {
        Debug.Assert(_owner == edit, "only the write that owns a set changes it");
        if (_large is not null)
        {
            var removed = false;
            return KeepLarge(_large.Remove(id, 0, edit, ref removed), removed ? -1 : 0);
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

    /// <summary>Adds (<paramref name="present"/>) or removes <paramref name="id"/>: one write path for both directions.</summary>
    public bool Set(int id, bool present, WriteEdit edit) => present ? Add(id, edit) : Remove(id, edit);

    // Keeps the trie a change returned and counts the id it added or removed; whether anything changed.
    private bool KeepLarge(NodeTrie large, int countChange)
    {
        _large = large;
        _count += countChange;
        return countChange != 0;
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
        if (_large is not null)
        {
            _large.CopyTo(result, 0);
        }
        else
        {
            _small.AsSpan(0, _count).CopyTo(result);
        }

        return result;
    }

    /// <summary>Allocation-free enumeration over either representation, small enough to copy cheaply.</summary>
    public struct Enumerator
    {
        private readonly int[] _small;
        private readonly int _count;
        private readonly NodeTrie? _large;
        private int _index;
        private int _current;

        internal Enumerator(NodeSet set)
        {
            _small = set._small;
            _count = set._count;
            _large = set._large;
            _index = -1;
        }

        public readonly int Current => _current;

        public bool MoveNext()
        {
            if (++_index >= _count)
            {
                return false;
            }

            if (_large is null)
            {
                _current = _small[_index];
                return true;
            }

            // The trie's count is the set's, so the last id is never passed.
            if (_index == 0)
            {
                _current = _large.First();
                return true;
            }

            return _large.TryNext(_current, out _current);
        }
    }
}
