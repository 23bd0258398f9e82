namespace AuthzGrpc.Core.Management;

/// <summary>How an audit event names what a change touched, as the audit log's resource filter reads it.</summary>
public static class AuditTarget
{
    // How many objects a target names before "and N more".
    private const int Named = 5;

    /// <summary>
    /// The audit target of a change of several objects, as the audit log's resource filter reads it:
    /// <c>project:web, project:api and 3 more</c> (the first five, each once); <c>(none)</c> when there is none.
    /// </summary>
    public static string Of(IEnumerable<ObjectRef> resources)
    {
        var names = resources.Select(r => r.ToString()).Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            return "(none)";
        }

        var shown = string.Join(", ", names.Take(Named));
        return names.Count > Named ? $"{shown} and {names.Count - Named} more" : shown;
    }
}
