namespace AuthzGrpc.Core.Management;

// Keys: personal API keys (R31), which a caller creates acting as itself where the model's 'keys by' rule gives it the
// permission on the scope.
public sealed partial class ManagementPlanner
{
    /// <summary>
    /// Judges creating a personal API key on <paramref name="scope"/>: PermissionDenied for a type without a
    /// <c>keys by</c> rule, or a caller without the permission that rule names there.
    /// </summary>
    public void RequireKeyAuthority(SubjectRef caller, ObjectRef scope)
    {
        RequireGoverningPermission(caller, scope, rules => rules.Keys, type => $"personal API keys cannot be created on a {type}: the schema has no 'keys by' rule for it", "creating a personal API key on");
    }
}
