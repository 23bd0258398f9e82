using AuthzGrpc.Core.Engine;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// The copy-on-write pieces of the graph: each edit changes only what it owns, so every version published before it
/// keeps its content, small and large, whatever the later edits do.
/// </summary>
public sealed class PersistentStructureTests
{
    [Theory]
    [InlineData(40, 1)]
    [InlineData(5_000, 2)]
    [InlineData(int.MaxValue, 3)]
    public void NodeSet_EveryVersion_KeepsItsContent(int idRange, int seed)
    {
        var random = new Random(seed);
        var versions = new List<(NodeSet Set, HashSet<int> Expected)>();
        var set = NodeSet.Empty;
        var expected = new HashSet<int>();
        for (var version = 0; version < 30; version++)
        {
            var edit = new WriteEdit();
            for (var i = 0; i < 60; i++)
            {
                // Mostly adds, so the set crosses from the array to the trie and back as it grows and shrinks.
                var id = expected.Count > 0 && random.Next(3) == 0 ? expected.ElementAt(random.Next(expected.Count)) : random.Next(idRange);
                if (random.Next(4) == 0)
                {
                    Assert.Equal(expected.Remove(id), set.Remove(id, edit));
                }
                else
                {
                    Assert.Equal(expected.Add(id), set.Add(id, edit));
                }
            }

            // A copy of the set is its version: the next edit changes only what it owns.
            versions.Add((set, [.. expected]));
        }

        foreach (var (version, content) in versions)
        {
            AssertContent(content, version);
            Assert.False(version.Contains(idRange == int.MaxValue ? 0 : idRange));
        }
    }

    [Fact]
    public void NodeSet_EmptiedFromEitherForm_IsEmpty()
    {
        var edit = new WriteEdit();
        var set = NodeSet.Empty;
        var ids = Enumerable.Range(0, 20).Select(i => i * 1_000_003).ToArray();
        foreach (var id in ids)
        {
            Assert.True(set.Add(id, edit));
        }

        var large = set;
        var removal = new WriteEdit();
        foreach (var id in ids)
        {
            Assert.True(set.Remove(id, removal));
            Assert.False(set.Remove(id, removal));
        }

        Assert.True(set.IsEmpty);
        AssertContent([], set);
        AssertContent([.. ids], large);
        var last = NodeSet.Empty;
        last.Add(ids[^1], removal);
        Assert.False(NodeSet.Intersects(set, large));
        Assert.True(NodeSet.Intersects(large, last));
        Assert.True(NodeSet.Intersects(last, large));
    }

    [Fact]
    public void ObjectIndex_FindsEachObject_OnlyInVersionsThatHoldIt()
    {
        // Two types with the same ids, interned alternately, past several growths of both tables.
        const int PerType = 5_000;
        var index = new ObjectIndex(2);
        var nodes = new NodeChunks([.. Enumerable.Range(0, 5).Select(_ => new Node[NodeChunks.ChunkSize])]);
        const int Count = 2 * PerType;
        for (var i = 0; i < PerType; i++)
        {
            for (var type = 0; type < 2; type++)
            {
                var node = (2 * i) + type;
                nodes[node] = new Node { Type = type, Id = $"id-{i}", Object = node, Member = -1 };
                index.Add(type, node, nodes);
            }
        }

        for (var i = 0; i < PerType; i++)
        {
            Assert.Equal(2 * i, index.Find(0, $"id-{i}", nodes, Count));
            Assert.Equal((2 * i) + 1, index.Find(1, $"id-{i}", nodes, Count));

            // A version holding the first 2i nodes sees neither; one holding 2i + 1 sees the first type's only.
            Assert.Equal(-1, index.Find(0, $"id-{i}", nodes, 2 * i));
            Assert.Equal(2 * i, index.Find(0, $"id-{i}", nodes, (2 * i) + 1));
            Assert.Equal(-1, index.Find(1, $"id-{i}", nodes, (2 * i) + 1));
        }

        Assert.Equal(-1, index.Find(0, "id-x", nodes, Count));
        Assert.Equal(-1, index.Find(1, $"id-{PerType}", nodes, Count));
    }

    [Fact]
    public void NodeVector_EveryVersion_KeepsItsEntries()
    {
        var first = new NodeVector<Entry>().Edit(new WriteEdit());
        foreach (var node in new[] { 0, 127, 128, 20_000, 100_000 })
        {
            first.Owned(node).Value = node;
        }

        first.Seal();
        var second = first.Edit(new WriteEdit());
        second.Owned(128).Value = -1;
        second.Owned(300_000).Value = 3;
        second.Seal();

        Assert.Equal(128, first[128]!.Value);
        Assert.Equal(-1, second[128]!.Value);
        Assert.Equal(100_000, second[100_000]!.Value);
        Assert.Null(first[300_000]);
        Assert.Equal(3, second[300_000]!.Value);
        Assert.Null(first[1]);
        Assert.Throws<InvalidOperationException>(() => first.Owned(1));
    }

    private static void AssertContent(HashSet<int> content, NodeSet set)
    {
        Assert.Equal(content.Count, set.Count);
        Assert.Equal(content.Count == 0, set.IsEmpty);
        Assert.Equal(content.Order(), set.ToArray().Order());
        Assert.Equal(content.Order(), Enumerate(set).Order());
        Assert.All(content, id => Assert.True(set.Contains(id)));
    }

    private static List<int> Enumerate(NodeSet set)
    {
        var ids = new List<int>();
        foreach (var id in set)
        {
            ids.Add(id);
        }

        return ids;
    }

    private sealed class Entry : INodeEntry<Entry>
    {
        private WriteEdit? _owner;

        public int Value;

        public static Entry Owned(Entry? entry, WriteEdit edit) =>
            entry?._owner == edit ? entry : new Entry { _owner = edit, Value = entry?.Value ?? 0 };
    }
}
