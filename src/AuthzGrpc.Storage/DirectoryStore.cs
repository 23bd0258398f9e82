using System.Text.Json;

namespace AuthzGrpc.Storage;

/// <summary>
/// What the model does not hold about objects and people: the names and descriptions of objects made with
/// CreateResource, and the emails of subjects (recorded when they accept an invitation).
/// </summary>
public sealed class DirectoryStore(AuthzDatabase database)
{
    /// <summary>The emails known for <paramref name="subjects"/> (those with none are absent).</summary>
    public async Task<IReadOnlyDictionary<SubjectRef, string>> ReadEmailsAsync(IReadOnlyCollection<SubjectRef> subjects, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        var ids = subjects.Where(s => !s.IsSubjectSet).Select(s => s.Id).Distinct().ToList();
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var rows = await context.Principals.AsNoTracking().Where(p => ids.Contains(p.SubjectId)).ToListAsync(cancellationToken).ConfigureAwait(false);
            return rows
                .Select(p => (Subject: new SubjectRef(p.SubjectType, p.SubjectId), p.Email))
                .Where(p => subjects.Contains(p.Subject))
                .GroupBy(p => p.Subject)
                .ToDictionary(g => g.Key, g => g.First().Email);
        }
    }

    /// <summary>The stored records (names and descriptions) of those of <paramref name="resources"/> made with CreateResource.</summary>
    public async Task<IReadOnlyDictionary<ObjectRef, StoredResource>> ReadResourcesAsync(IReadOnlyCollection<ObjectRef> resources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var ids = resources.Select(r => r.Id).Distinct().ToList();
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var rows = await context.Resources.AsNoTracking().Where(r => ids.Contains(r.ResourceId)).ToListAsync(cancellationToken).ConfigureAwait(false);
            return rows
                .Select(r => new StoredResource(new ObjectRef(r.ResourceType, r.ResourceId), r.Name, r.Description, r.CreatedAt, r.UpdatedAt))
                .Where(r => resources.Contains(r.Resource))
                .ToDictionary(r => r.Resource);
        }
    }

    /// <summary>
    /// Stages <paramref name="change"/> to the object's record within a write's transaction. For an update, returns the
    /// record before and after as JSON (NotFound when the object has no record); for a create or delete, nulls: their
    /// audit events show the relationships instead.
    /// </summary>
    internal static async Task<(string? Before, string? After)> ApplyResourceChangeAsync(
        UnitOfWork unit, ResourceChange change, CancellationToken cancellationToken)
    {
        var (context, _, now) = unit;
        var row = await context.Resources.FindAsync([change.Resource.Type, change.Resource.Id], cancellationToken).ConfigureAwait(false);
        switch (change.Kind)
        {
            case ResourceChangeKind.Delete:
                if (row is not null)
                {
                    context.Resources.Remove(row);
                }

                return (null, null);

            case ResourceChangeKind.Update:
            {
                if (row is null)
                {
                    throw new AuthzException(AuthzErrorKind.NotFound,
                        $"{change.Resource} has no stored name or description: only objects made with CreateResource can be updated");
                }

                var before = DescribeRecord(row);
                row.Name = change.Name ?? row.Name;
                row.Description = change.Description is null ? row.Description : change.Description.Length == 0 ? null : change.Description;
                row.UpdatedAt = now;
                return (before, DescribeRecord(row));
            }

            default:
                if (row is null)
                {
                    context.Resources.Add(row = new ResourceRow { ResourceType = change.Resource.Type, ResourceId = change.Resource.Id, CreatedAt = now });
                }

                row.Name = change.Name ?? string.Empty;
                row.Description = change.Description;
                row.UpdatedAt = now;
                foreach (var child in change.Children)
                {
                    await ApplyResourceChangeAsync(unit, child, cancellationToken).ConfigureAwait(false);
                }

                return (null, null);
        }
    }

    // What the audit log shows of an object's record.
    private static string DescribeRecord(ResourceRow row) => JsonSerializer.Serialize(new
    {
        resource = $"{row.ResourceType}:{row.ResourceId}",
        name = row.Name,
        description = row.Description,
    });
}
