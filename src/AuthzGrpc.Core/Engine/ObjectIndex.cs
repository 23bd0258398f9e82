namespace AuthzGrpc.Core.Engine;

/// <summary>
/// Object ids to nodes, per type: an open-addressing table of node ids (linear probing, at most half full) that is
/// probed by comparing each candidate node's own id, so an object costs two to four ints here instead of a concurrent
/// dictionary's entry object and bucket (some 48 bytes). The single writer adds; readers probe without a lock: a slot
/// only ever goes from empty to a node, and a grown table is filled before it is published.
/// </summary>
internal sealed class ObjectIndex(int types)
{
    private const int InitialSlots = 16;

    // Per type: node + 1 in each used slot, 0 in an empty one; the length a power of two.
    private readonly int[][] _slots = [.. Enumerable.Range(0, types).Select(_ => new int[InitialSlots])];
    private readonly int[] _counts = new int[types];

    /// <summary>
    /// The object node of <paramref name="type"/> with <paramref name="id"/> among the first <paramref name="visible"/>
    /// entries of <paramref name="nodes"/> (a version's view of the node table); -1 when there is none.
    /// </summary>
    public int Find(int type, string id, NodeChunks nodes, int visible)
    {
        var slots = Volatile.Read(ref _slots[type]);
        var mask = slots.Length - 1;
        for (var slot = id.GetHashCode() & mask; ; slot = (slot + 1) & mask)
        {
            var node = Volatile.Read(ref slots[slot]) - 1;
            if (node < 0)
            {
                return -1;
            }

            // A node interned after the version is skipped, not stopped at: the id may be stored further along.
            if (node < visible && string.Equals(nodes[node].Id, id, StringComparison.Ordinal))
            {
                return node;
            }
        }
    }

    /// <summary>Adds the object node <paramref name="node"/>, already written in <paramref name="nodes"/>, whose id the index does not hold.</summary>
    public void Add(int type, int node, NodeChunks nodes)
    {
        var slots = _slots[type];
        if ((_counts[type] + 1) * 2 > slots.Length)
        {
            var grown = new int[slots.Length * 2];
            foreach (var entry in slots)
            {
                if (entry != 0)
                {
                    Insert(grown, entry, nodes[entry - 1].Id);
                }
            }

            Volatile.Write(ref _slots[type], slots = grown);
        }

        Insert(slots, node + 1, nodes[node].Id);
        _counts[type]++;
    }

    private static void Insert(int[] slots, int entry, string id)
    {
        var mask = slots.Length - 1;
        var slot = id.GetHashCode() & mask;
        while (slots[slot] != 0)
        {
            slot = (slot + 1) & mask;
        }

        Volatile.Write(ref slots[slot], entry);
    }
}
