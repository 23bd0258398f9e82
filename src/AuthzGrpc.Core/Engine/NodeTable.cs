using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// A view of the interned nodes: chunks of <see cref="ChunkSize"/> (64 KiB each, under the large object heap's
/// threshold), so the table grows by a chunk, never by copying its entries into an array twice the size.
/// </summary>
internal readonly struct NodeChunks(Node[][] chunks)
{
    public const int ChunkBits = 11;
    public const int ChunkSize = 1 << ChunkBits;

    public readonly Node[][] Chunks = chunks;

    public ref Node this[int node]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Chunks[node >> ChunkBits][node & (ChunkSize - 1)];
    }
}

/// <summary>
/// The interned nodes and the indexes that find them, appended to by the writer and shared by every version of the
/// graph. A version keeps the <see cref="NodeChunks"/> it was published with and reads only its first nodes, so entries
/// written after it, in a chunk it shares or one it does not reach, never matter to it.
/// </summary>
internal sealed class NodeTable(int types)
{
    public NodeChunks Nodes = new([]);
    public int Count;

    // Read without a lock by every version, each ignoring nodes past its count.
    public readonly ObjectIndex Objects = new(types);

    public readonly int[] Wildcards = [.. Enumerable.Repeat(-1, types)];

    /// <summary>Appends <paramref name="node"/>; its index.</summary>
    public int Append(in Node node)
    {
        var chunk = Count >> NodeChunks.ChunkBits;
        if ((Count & (NodeChunks.ChunkSize - 1)) == 0)
        {
            // Versions published before keep the chunk list they hold; only its slots past theirs are written.
            var chunks = Nodes.Chunks;
            if (chunk == chunks.Length)
            {
                Array.Resize(ref chunks, Math.Max(4, chunks.Length * 2));
            }

            chunks[chunk] = new Node[NodeChunks.ChunkSize];
            Nodes = new NodeChunks(chunks);
        }

        Nodes[Count] = node;
        return Count++;
    }
}
