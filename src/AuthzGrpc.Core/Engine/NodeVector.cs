using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>What a <see cref="NodeVector{T}"/> holds: an object a write copies before it changes it.</summary>
internal interface INodeEntry<T>
    where T : class, INodeEntry<T>
{
    /// <summary>This entry when <paramref name="edit"/> owns it, else a copy it owns (a new empty entry for null).</summary>
    static abstract T Owned(T? entry, WriteEdit edit);
}

/// <summary>
/// A persistent array indexed by node id: a top array (sized to the node count) of 128-wide middle chunks of 128-wide
/// leaves, so a read is three array loads and a write copies the chunks on its path (2 KiB per node it changes)
/// instead of the array. A version is immutable once published; <see cref="Edit"/> starts the next one.
/// </summary>
internal sealed class NodeVector<T>
    where T : class, INodeEntry<T>
{
    private const int Bits = 7;
    private const int Width = 1 << Bits;
    private const int Mask = Width - 1;

    // The write building this version; null once it is sealed (or for the first, empty version).
    private WriteEdit? _edit;

    // The arrays this version copied or created: the ones it may change in place. Created on the first change.
    private HashSet<object>? _owned;
    private T?[]?[]?[] _root;

    public NodeVector()
        : this(null, [])
    {
    }

    private NodeVector(WriteEdit? edit, T?[]?[]?[] root)
    {
        _edit = edit;
        _root = root;
    }

    /// <summary>The entry of <paramref name="node"/>, null if it has none.</summary>
    public T? this[int node]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var root = _root;
            var top = node >> (2 * Bits);
            if ((uint)top >= (uint)root.Length)
            {
                return null;
            }

            var leaf = root[top]?[(node >> Bits) & Mask];
            return leaf?[node & Mask];
        }
    }

    /// <summary>The next version, which <paramref name="edit"/> changes through <see cref="Owned"/> until it is published.</summary>
    public NodeVector<T> Edit(WriteEdit edit) => new(edit, _root);

    /// <summary>Ends the changes of this version: it is about to be published.</summary>
    public void Seal()
    {
        _edit = null;
        _owned = null;
    }

    /// <summary>The entry of <paramref name="node"/> that this version's write may change in place, copied (or created) if need be.</summary>
    public T Owned(int node)
    {
        var edit = _edit ?? throw new InvalidOperationException("a published version cannot change: start the next with Edit");
        var owned = _owned ??= new HashSet<object>(ReferenceEqualityComparer.Instance);
        var top = node >> (2 * Bits);
        if (!owned.Contains(_root) || top >= _root.Length)
        {
            var root = new T?[]?[]?[Math.Max(top + 1, _root.Length)];
            _root.CopyTo(root, 0);
            owned.Add(_root = root);
        }

        var middle = _root[top] = Owned(owned, _root[top]);
        var leaf = middle[(node >> Bits) & Mask] = Owned(owned, middle[(node >> Bits) & Mask]);
        return leaf[node & Mask] = T.Owned(leaf[node & Mask], edit);
    }

    private static TChunk[] Owned<TChunk>(HashSet<object> owned, TChunk[]? chunk)
    {
        if (chunk is not null && owned.Contains(chunk))
        {
            return chunk;
        }

        var copy = chunk is null ? new TChunk[Width] : (TChunk[])chunk.Clone();
        owned.Add(copy);
        return copy;
    }
}
