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
/// </remarks>
internal sealed class ReachabilityIndex
{
    private static readonly NodeSet Empty = new();

    // Several stored relationships may produce the same edge (two relations from one project to one organization).
    // Keyed by the pair, not by a packed long: long's hash is from ^ to, and nodes interned together (an application
    // and its environment) collide so often that loading a million edges turned quadratic.
    private readonly Dictionary<(int From, int To), int> _edgeCounts = [];
    private readonly Dictionary<int, NodeSet> _out = [];
    private readonly Dictionary<int, NodeSet> _reach = [];
    private readonly Dictionary<int, NodeSet> _reachedBy = [];

    /// <summary>Every node reachable from <paramref name="node"/> by one or more edges.</summary>
    public NodeSet Reach(int node) => node >= 0 && _reach.TryGetValue(node, out var set) ? set : Empty;

    /// <summary>Every node from which <paramref name="node"/> is reachable.</summary>
    public NodeSet ReachedBy(int node) => node >= 0 && _reachedBy.TryGetValue(node, out var set) ? set : Empty;

    /// <summary>Nodes with a direct edge from <paramref name="node"/>.</summary>
    public NodeSet Out(int node) => _out.TryGetValue(node, out var set) ? set : Empty;

    public void AddEdge(int from, int to)
    {
        var key = (from, to);
        _edgeCounts.TryGetValue(key, out var count);
        _edgeCounts[key] = count + 1;
        if (count > 0)
        {
            return;
        }

        GetOrCreate(_out, from).Add(to);
        var sources = ReachedBy(from).ToArray().Append(from).ToArray();
        var targets = Reach(to).ToArray().Append(to).ToArray();
        foreach (var source in sources)
        {
            var reach = GetOrCreate(_reach, source);
            foreach (var target in targets)
            {
                if (reach.Add(target))
                {
                    GetOrCreate(_reachedBy, target).Add(source);
                }
            }
        }
    }

    public void RemoveEdge(int from, int to)
    {
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
        _out[from].Remove(to);
        var affected = ReachedBy(from).ToArray().Append(from).Distinct().ToArray();
        foreach (var source in affected)
        {
            var before = Reach(source).ToArray();
            var after = Walk(source);
            foreach (var target in before)
            {
                if (!after.Contains(target))
                {
                    _reach[source].Remove(target);
                    _reachedBy[target].Remove(source);
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

    private static NodeSet GetOrCreate(Dictionary<int, NodeSet> map, int node)
    {
        if (!map.TryGetValue(node, out var set))
        {
            set = new NodeSet();
            map.Add(node, set);
        }

        return set;
    }
}
