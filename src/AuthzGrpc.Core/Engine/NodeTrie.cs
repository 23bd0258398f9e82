using System.Numerics;
using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// The large form of a <see cref="NodeSet"/>: a persistent hash array mapped trie over node ids (which are dense,
/// non-negative ints, so an id's own bits pick its branch, five per level). A change copies only the path to the id it
/// changes — a few small arrays, whatever the set's size — and leaves every published version intact.
/// </summary>
internal sealed class NodeTrie
{
    private const int Bits = 5;

    // Levels of a trie of 31-bit ids: shifts 0, 5, ..., 30.
    private const int MaxDepth = 7;

    private static readonly int[] NoKeys = [];
    private static readonly NodeTrie[] NoChildren = [];

    private readonly WriteEdit? _owner;

    // Ids stored at this level and subtries below it, each indexed by the popcount of its bitmap below its branch.
    private uint _keyMap;
    private uint _childMap;
    private int _count;
    private int[] _keys = NoKeys;
    private NodeTrie[] _children = NoChildren;

    private NodeTrie(WriteEdit? owner) => _owner = owner;

    public bool IsEmpty => _keyMap == 0 && _childMap == 0;

    /// <summary>The ids stored at this level and below it.</summary>
    public int Count => _count;

    /// <summary>A trie owned by <paramref name="edit"/> holding <paramref name="ids"/> (distinct).</summary>
    public static NodeTrie Of(ReadOnlySpan<int> ids, WriteEdit edit)
    {
        var trie = new NodeTrie(edit);
        foreach (var id in ids)
        {
            var added = false;
            trie = trie.Add(id, 0, edit, ref added);
        }

        return trie;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(int id)
    {
        var node = this;
        for (var shift = 0; ; shift += Bits)
        {
            var bit = Bit(id, shift);
            if ((node._keyMap & bit) != 0)
            {
                return node._keys[Index(node._keyMap, bit)] == id;
            }

            if ((node._childMap & bit) == 0)
            {
                return false;
            }

            node = node._children[Index(node._childMap, bit)];
        }
    }

    /// <summary>Adds <paramref name="id"/>; returns the trie to keep (this one when nothing changed or it is owned).</summary>
    public NodeTrie Add(int id, int shift, WriteEdit edit, ref bool added)
    {
        var bit = Bit(id, shift);
        if ((_keyMap & bit) != 0)
        {
            var index = Index(_keyMap, bit);
            var existing = _keys[index];
            if (existing == id)
            {
                return this;
            }

            var owned = Owned(edit, cloneChildren: false);
            owned._keys = Without(owned._keys, index);
            owned._keyMap &= ~bit;
            owned._children = With(owned._children, Index(owned._childMap, bit), Pair(existing, id, shift + Bits, edit));
            owned._childMap |= bit;
            owned._count++;
            added = true;
            return owned;
        }

        if ((_childMap & bit) != 0)
        {
            var index = Index(_childMap, bit);
            var child = _children[index];
            var changed = child.Add(id, shift + Bits, edit, ref added);
            if (!added)
            {
                return this;
            }

            // The child was changed in place (this write owns it, so this node too) or copied.
            var owned = Owned(edit, cloneChildren: true);
            owned._children[index] = changed;
            owned._count++;
            return owned;
        }

        var result = Owned(edit, cloneChildren: true);
        result._keys = With(result._keys, Index(result._keyMap, bit), id);
        result._keyMap |= bit;
        result._count++;
        added = true;
        return result;
    }

    /// <summary>Removes <paramref name="id"/>; returns the trie to keep (this one when nothing changed or it is owned).</summary>
    public NodeTrie Remove(int id, int shift, WriteEdit edit, ref bool removed)
    {
        var bit = Bit(id, shift);
        if ((_keyMap & bit) != 0)
        {
            var index = Index(_keyMap, bit);
            if (_keys[index] != id)
            {
                return this;
            }

            var owned = Owned(edit, cloneChildren: true);
            owned._keys = Without(owned._keys, index);
            owned._keyMap &= ~bit;
            owned._count--;
            removed = true;
            return owned;
        }

        if ((_childMap & bit) != 0)
        {
            var index = Index(_childMap, bit);
            var child = _children[index];
            var changed = child.Remove(id, shift + Bits, edit, ref removed);
            if (!removed)
            {
                return this;
            }

            var owned = Owned(edit, cloneChildren: !changed.IsEmpty);
            if (changed.IsEmpty)
            {
                owned._children = Without(owned._children, index);
                owned._childMap &= ~bit;
            }
            else
            {
                owned._children[index] = changed;
            }

            owned._count--;
            return owned;
        }

        return this;
    }

    /// <summary>The first id in trie order (the order of the ids' five-bit groups, lowest first).</summary>
    public int First()
    {
        var node = this;
        while (true)
        {
            var slots = node._keyMap | node._childMap;
            var bit = slots & (~slots + 1);
            if ((node._keyMap & bit) != 0)
            {
                return node._keys[Index(node._keyMap, bit)];
            }

            node = node._children[Index(node._childMap, bit)];
        }
    }

    /// <summary>
    /// The id after <paramref name="id"/> in trie order; false when none is. Enumeration keeps only the last id (a small
    /// enumerator is cheap to copy on the check path): the next is under the deepest node on its path with a later
    /// slot, so each step walks that path again, a few levels at most.
    /// </summary>
    public bool TryNext(int id, out int next)
    {
        for (var depth = MaxDepth - 1; depth >= 0; depth--)
        {
            var node = this;
            for (var level = 0; level < depth && node is not null; level++)
            {
                var bit = Bit(id, level * Bits);
                node = (node._childMap & bit) != 0 ? node._children[Index(node._childMap, bit)] : null;
            }

            if (node is null)
            {
                continue;
            }

            // The occupied slots after the id's own at this level.
            var later = (node._keyMap | node._childMap) & ~((2u << (int)(((uint)id >> (depth * Bits)) & 31)) - 1);
            if (later != 0)
            {
                var bit = later & (~later + 1);
                next = (node._keyMap & bit) != 0 ? node._keys[Index(node._keyMap, bit)] : node._children[Index(node._childMap, bit)].First();
                return true;
            }
        }

        next = 0;
        return false;
    }

    /// <summary>Copies every id into <paramref name="destination"/> from <paramref name="index"/>; returns the index after the last.</summary>
    public int CopyTo(int[] destination, int index)
    {
        _keys.CopyTo(destination, index);
        index += _keys.Length;
        foreach (var child in _children)
        {
            index = child.CopyTo(destination, index);
        }

        return index;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Bit(int id, int shift) => 1u << (int)(((uint)id >> shift) & 31);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(uint map, uint bit) => BitOperations.PopCount(map & (bit - 1));

    // Two distinct ids below one branch: stored side by side, or one level further down while their bits agree.
    private static NodeTrie Pair(int a, int b, int shift, WriteEdit edit)
    {
        var node = new NodeTrie(edit) { _count = 2 };
        var bitA = Bit(a, shift);
        var bitB = Bit(b, shift);
        if (bitA == bitB)
        {
            node._childMap = bitA;
            node._children = [Pair(a, b, shift + Bits, edit)];
        }
        else
        {
            node._keyMap = bitA | bitB;
            node._keys = bitA < bitB ? [a, b] : [b, a];
        }

        return node;
    }

    // This node when the edit owns it, else a copy it owns. Key arrays are only ever replaced, so copies share them;
    // an owned node sets its children in place, so its children array is its own unless the caller replaces it anyway.
    private NodeTrie Owned(WriteEdit edit, bool cloneChildren) => _owner == edit ? this : new NodeTrie(edit)
    {
        _keyMap = _keyMap,
        _childMap = _childMap,
        _count = _count,
        _keys = _keys,
        _children = cloneChildren && _children.Length > 0 ? (NodeTrie[])_children.Clone() : _children,
    };

    private static T[] With<T>(T[] items, int index, T item)
    {
        var result = new T[items.Length + 1];
        items.AsSpan(0, index).CopyTo(result);
        result[index] = item;
        items.AsSpan(index).CopyTo(result.AsSpan(index + 1));
        return result;
    }

    private static T[] Without<T>(T[] items, int index)
    {
        var result = new T[items.Length - 1];
        items.AsSpan(0, index).CopyTo(result);
        items.AsSpan(index + 1).CopyTo(result.AsSpan(index));
        return result;
    }
}
