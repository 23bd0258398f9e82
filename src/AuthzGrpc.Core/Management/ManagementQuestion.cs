namespace AuthzGrpc.Core.Management;

/// <summary>A management check, validated: who would call, which operation, on what, about which role and subject.</summary>
public sealed record ManagementQuestion(
    SubjectRef Caller, ManagementAction Action, ObjectRef Resource, string? Role, SubjectRef? Target)
{
    /// <summary>The question as one step of an explanation, e.g. <c>organization:acme#grant(owner, user:bob)@user:alice</c>.</summary>
    public string Step
    {
        get
        {
            var about = string.Join(", ", new[] { Role, Target?.ToString() }.Where(part => part is not null));
            return $"{Resource}#{Action.ToString().ToLowerInvariant()}({about})@{Caller}";
        }
    }
}
