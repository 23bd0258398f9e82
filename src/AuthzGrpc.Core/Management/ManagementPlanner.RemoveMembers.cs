using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Core.Management;

// Removing several subjects from one object in one step (003: "select the users to remove and click Remove users from
// organization").
public sealed partial class ManagementPlanner
{
    /// <summary>
    /// Removes every subject of <paramref name="subjects"/> from <paramref name="resource"/> as one step, each exactly as
    /// <see cref="RemoveMember"/> would (the revoke rule of the base membership and of every role it holds on the
    /// resource; the cascade to everything the resource contains), every subject judged against the state before the
    /// call. A subject named twice is InvalidArgument; then authority is checked for every subject (PermissionDenied:
    /// the first refused one), then state — a subject holding nothing there (NotFound), a minimum the removals together
    /// would break (FailedPrecondition: two of three owners may go, not all three). Any refusal refuses the whole call.
    /// </summary>
    public ManagementPlan RemoveMembers(SubjectRef caller, ObjectRef resource, IReadOnlyList<SubjectRef> subjects)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        for (var i = 0; i < subjects.Count; i++)
        {
            var first = subjects.Take(i).ToList().IndexOf(subjects[i]);
            if (first >= 0)
            {
                throw AuthzException.Invalid($"subjects[{i}]: {subjects[i]} is already subjects[{first}]; name each subject once");
            }
        }

        var type = TypeOf(resource);

        // Authority first, for every subject: the right to remove members at all, before anything about what each holds
        // (R24); then the base membership and every role it holds here (an admin who may not touch owners may not remove
        // an owner in a batch either); state refusals wait until every subject has passed.
        foreach (var subject in subjects)
        {
            RequireRemoveAuthority(caller, resource, type, subject);
        }

        var deferred = subjects
            .SelectMany(s => type.Rules.Roles.Where(r => r == type.Rules.Base || Holds(resource, r, s)).Select(r => RequireRevokeAuthority(caller, resource, type, r, s)))
            .ToList()
            .FirstOrDefault(refusal => refusal is not null);
        if (deferred is not null)
        {
            throw deferred;
        }

        // Then state: each subject must hold something here or below; the minimums are judged on all removals together.
        var removed = new List<Relationship>();
        foreach (var subject in subjects)
        {
            var cascade = Cascade(resource, subject);
            if (cascade.Count == 0)
            {
                throw new AuthzException(AuthzErrorKind.NotFound, $"{subject} holds nothing on {resource} or below it");
            }

            removed.AddRange(cascade);
        }

        return Remove([.. removed.Distinct()]);
    }
}
