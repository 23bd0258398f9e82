namespace AuthzGrpc.Core.Engine;

/// <summary>
/// A directed graph kept together with its transitive closure in both directions, updated incrementally.
/// Zanzibar's Leopard index is this over group-membership edges (a subject reaches every group it is in, however
/// deeply nested); the ancestor chains are this over the edges that arrows walk (a resource reaches its project,
/// organization, ...). Cycles are fine: a node may reach itself.
/// </summary>
/// <remarks>
/// Adding an edge a→b joins every node that reaches a (and a) to everything b reaches (and b): the cost is the
/// product of those two sets, paid once at write time so that a read is one lookup. Removing an edge recomputes
/// the forward closure of every node that reached its source, by walking the remaining edges.
/// A version is immutable once published; <see cref="Edit"/> starts the next one, which copies only the sets it changes.
/// </remarks>
internal sealed class ReachabilityIndex
{
    // Several stored relationships may produce the same edge (two relations from one project to one organization).
    // Keyed by the pair, not by a packed long: long's hash is from ^ to, and nodes interned together (an application
    // and its environment) collide so often that loading a million edges turned quadratic. Only the writer reads it,
    // and it always describes the newest version, so the versions share it.
    private readonly Dictionary<(int From, int To), int> _edgeCounts;
    private readonly NodeVector<Edges> _edges;
    private readonly WriteEdit? _edit;

    public ReachabilityIndex()
        : this([], new NodeVector<Edges>(), null)
    {
    }

    private ReachabilityIndex(Dictionary<(int From, int To), int> edgeCounts, NodeVector<Edges> edges, WriteEdit? edit)
    {
        _edgeCounts = edgeCounts;
        _edges = edges;
        _edit = edit;
    }

    /// <summary>Every node reachable from <paramref name="node"/> by one or more edges.</summary>
    public NodeSet Reach(int node) => node >= 0 && _edges[node] is { } edges ? edges.Reach : default;

    /// <summary>Every node from which <paramref name="node"/> is reachable.</summary>
    public NodeSet ReachedBy(int node) => node >= 0 && _edges[node] is { } edges ? edges.ReachedBy : default;

    /// <summary>Nodes with a direct edge from <paramref name="node"/>.</summary>
    public NodeSet Out(int node) => _edges[node]?.Out ?? default;

    /// <summary>The next version, which <paramref name="edit"/> changes until it is published.</summary>
    public ReachabilityIndex Edit(WriteEdit edit) => new(_edgeCounts, _edges.Edit(edit), edit);

    /// <summary>Ends the changes of this version: it is about to be published.</summary>
    public void Seal() => _edges.Seal();

    /// <summary>Adds (<paramref name="present"/>) or removes one count of the edge <paramref name="from"/> → <paramref name="to"/>.</summary>
    public void SetEdge(int from, int to, bool present)
    {
        if (present)
        {
            AddEdge(from, to);
        }
        else
        {
            RemoveEdge(from, to);
        }
    }

    private void AddEdge(int from, int to)
    {
        var edit = _edit!;
        var key = (from, to);
        _edgeCounts.TryGetValue(key, out var count);
        _edgeCounts[key] = count + 1;
        if (count > 0)
        {
            return;
        }

        _edges.Owned(from).Out.Add(to, edit);
        var sources = ReachedBy(from).ToArray().Append(from).ToArray();
        var targets = Reach(to).ToArray().Append(to).ToArray();
        foreach (var source in sources)
        {
            // The entry stays the same object for the rest of this write, so the reference to its field does too.
            ref var reach = ref _edges.Owned(source).Reach;
            foreach (var target in targets)
            {
                if (reach.Add(target, edit))
                {
                    _edges.Owned(target).ReachedBy.Add(source, edit);
                }
            }
        }
    }

    private void RemoveEdge(int from, int to)
    {
        var edit = _edit!;
        var key = (from, to);
        if (!_edgeCounts.TryGetValue(key, out var count))
        {
            return;
        }

        if (count > 1)
        {
            _edgeCounts[key] = count - 1;
            return;
        }

        _edgeCounts.Remove(key);
        _edges.Owned(from).Out.Remove(to, edit);
        var affected = ReachedBy(from).ToArray().Append(from).Distinct().ToArray();
        foreach (var source in affected)
        {
            var before = Reach(source).ToArray();
            var after = Walk(source);
            foreach (var target in before)
            {
                if (!after.Contains(target))
                {
                    _edges.Owned(source).Reach.Remove(target, edit);
                    _edges.Owned(target).ReachedBy.Remove(source, edit);
                }
            }
        }
    }

    private HashSet<int> Walk(int start)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<int>();
        stack.Push(start);
        while (stack.Count > 0)
        {
            foreach (var next in Out(stack.Pop()))
            {
                if (seen.Add(next))
                {
                    stack.Push(next);
                }
            }
        }

        return seen;
    }

    /// <summary>The edges of one node: direct, and the closure both ways.</summary>
    private sealed class Edges : INodeEntry<Edges>
    {
        private readonly WriteEdit? _owner;

        private Edges(WriteEdit owner) => _owner = owner;

        public NodeSet Out;
        public NodeSet Reach;
        public NodeSet ReachedBy;

        public static Edges Owned(Edges? entry, WriteEdit edit) =>
            entry?._owner == edit ? entry : new Edges(edit) { Out = entry?.Out ?? default, Reach = entry?.Reach ?? default, ReachedBy = entry?.ReachedBy ?? default };
    }
}
