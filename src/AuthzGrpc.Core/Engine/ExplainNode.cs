namespace AuthzGrpc.Core.Engine;

/// <summary>
/// One step of an explained check: what was evaluated (<see cref="Step"/>), whether it held, and the steps under it.
/// A granted check's tree contains a path of true steps from the permission down to a stored relationship.
/// </summary>
public sealed class ExplainNode
{
    private readonly List<ExplainNode> _children = [];

    internal ExplainNode(string step) => Step = step;

    /// <summary>What was evaluated, e.g. <c>project:web#view</c>, <c>organization-&gt;owner</c>, <c>union</c>.</summary>
    public string Step { get; }

    /// <summary>Whether it held for the subject.</summary>
    public bool Result { get; internal set; }

    /// <summary>For a relation lookup, how it matched (direct, wildcard, through a group) or why not.</summary>
    public string? Reason { get; internal set; }

    /// <summary>The sub-steps, in evaluation order (evaluation stops early, so not every operand may appear).</summary>
    public IReadOnlyList<ExplainNode> Children => _children;

    internal ExplainNode Child(string step)
    {
        var child = new ExplainNode(step);
        _children.Add(child);
        return child;
    }

    internal bool Done(bool result, string? reason = null)
    {
        Result = result;
        Reason ??= reason;
        return result;
    }

    /// <summary>The tree as indented text, one step per line.</summary>
    public override string ToString()
    {
        var builder = new System.Text.StringBuilder();
        Write(builder, 0);
        return builder.ToString();
    }

    private void Write(System.Text.StringBuilder builder, int indent)
    {
        builder.Append(' ', indent * 2).Append(Result ? "[+] " : "[-] ").Append(Step);
        if (Reason is not null)
        {
            builder.Append(" (").Append(Reason).Append(')');
        }

        builder.Append('\n');
        foreach (var child in _children)
        {
            child.Write(builder, indent + 1);
        }
    }
}
