using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// A set of node ids tuned for the common case of a handful of entries, held in one reference so that an empty set
/// costs nothing and a small one a single array: up to <see cref="SmallLimit"/> ids live in an array of exactly that
/// many, scanned linearly (cheaper than hashing at that size); past that, in a <see cref="NodeTrie"/>.
/// A published set never changes: a change stores a new array, or changes only the trie nodes its write owns, so
/// readers of earlier versions need no lock. Change a set only where it is stored (a field), never a copy.
/// </summary>
internal struct NodeSet
{
    private const int SmallLimit = 8;

    // null (empty); an int[] of 1 to SmallLimit distinct ids, never written once stored; or a NodeTrie of more.
    private object? _items;

    private NodeSet(object? items) => _items = items;

    /// <summary>The set with no ids.</summary>
    public static NodeSet Empty => default;

    public readonly bool IsEmpty => _items is null;

    public readonly int Count => _items switch
    {
        null => 0,
        int[] small => small.Length,
        _ => Unsafe.As<NodeTrie>(_items).Count,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Contains(int id)
    {
        var items = _items;
        if (items is null)
        {
            return false;
        }

        if (items.GetType() != typeof(int[]))
        {
            return Unsafe.As<NodeTrie>(items).Contains(id);
        }

        foreach (var small in Unsafe.As<int[]>(items))
        {
            if (small == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Adds <paramref name="id"/>; whether it was not there. Trie nodes <paramref name="edit"/> owns are changed in place.</summary>
    public bool Add(int id, WriteEdit edit)
    {
        switch (_items)
        {
            case null:
                _items = new[] { id };
                return true;
            case int[] small:
                if (Array.IndexOf(small, id) >= 0)
                {
                    return false;
                }

                _items = small.Length == SmallLimit ? NodeTrie.Of([.. small, id], edit) : (int[])[.. small, id];
                return true;
            default:
                var added = false;
                _items = Unsafe.As<NodeTrie>(_items).Add(id, 0, edit, ref added);
                return added;
        }
    }

    /// <summary>Removes <paramref name="id"/>; whether it was there. Trie nodes <paramref name="edit"/> owns are changed in place.</summary>
    public bool Remove(int id, WriteEdit edit)
    {
        switch (_items)
        {
            case null:
                return false;
            case int[] small:
                var index = Array.IndexOf(small, id);
                if (index < 0)
                {
                    return false;
                }

                _items = small.Length == 1 ? null : (int[])[.. small.AsSpan(0, index), .. small.AsSpan(index + 1)];
                return true;
            default:
                var removed = false;
                var trie = Unsafe.As<NodeTrie>(_items).Remove(id, 0, edit, ref removed);
                _items = trie.Count > SmallLimit ? trie : ToArray(trie);
                return removed;
        }
    }

    /// <summary>Adds (<paramref name="present"/>) or removes <paramref name="id"/>: one write path for both directions.</summary>
    public bool Set(int id, bool present, WriteEdit edit) => present ? Add(id, edit) : Remove(id, edit);

    /// <summary>True when some id is in both sets; probes the larger with the smaller's entries.</summary>
    public static bool Intersects(in NodeSet a, in NodeSet b)
    {
        if (a.IsEmpty || b.IsEmpty)
        {
            return false;
        }

        var (smaller, larger) = a.Count <= b.Count ? (a, b) : (b, a);
        foreach (var id in smaller)
        {
            if (larger.Contains(id))
            {
                return true;
            }
        }

        return false;
    }

    public readonly Enumerator GetEnumerator() => new(_items);

    public readonly int[] ToArray() => _items switch
    {
        null => [],
        int[] small => (int[])small.Clone(),
        _ => ToArray(Unsafe.As<NodeTrie>(_items)),
    };

    private static int[] ToArray(NodeTrie trie)
    {
        var result = new int[trie.Count];
        trie.CopyTo(result, 0);
        return result;
    }

    /// <summary>Allocation-free enumeration over either representation, small enough to copy cheaply.</summary>
    public struct Enumerator
    {
        private readonly int[]? _small;
        private readonly NodeTrie? _large;
        private int _index;
        private int _current;

        internal Enumerator(object? items)
        {
            _small = items as int[];
            _large = items as NodeTrie;
            _index = -1;
        }

        public readonly int Current => _current;

        public bool MoveNext()
        {
            _index++;
            if (_small is not null)
            {
                if (_index >= _small.Length)
                {
                    return false;
                }

                _current = _small[_index];
                return true;
            }

            if (_large is null)
            {
                return false;
            }

            if (_index == 0)
            {
                _current = _large.First();
                return true;
            }

            return _large.TryNext(_current, out _current);
        }
    }
}
