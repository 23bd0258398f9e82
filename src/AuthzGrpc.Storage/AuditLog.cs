namespace AuthzGrpc.Storage;

/// <summary>The audit log: one event per change, written by the change's own transaction (<see cref="UnitOfWork.Audit"/>).</summary>
public sealed class AuditLog(AuthzDatabase database)
{
    /// <summary>
    /// Audit events matching <paramref name="query"/>, newest first: about an object (its id appears in the event's
    /// target), by an actor, within a time range, before an event id (for paging).
    /// </summary>
    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var events = context.AuditEvents.AsNoTracking().AsQueryable();
            if (query.Resource is { } resource)
            {
                // The object's name delimited as it appears in a target (`type:id`, a list `a, b and 2 more`, a filter
                // `type:id#relation@type:id`) and in the JSON of relationships and records: `project:doc` is not `project:docs`.
                var text = resource.ToString();
                var (listed, listedBefore, listedAnd, startsList, startsMore) = ($", {text},", $", {text}", $", {text} and ", $"{text},", $"{text} and ");
                var (asResource, asSubject, asSubjectSet, asValue, asFilterSubject) = ($"\"{text}#", $"@{text}\"", $"@{text}#", $"\"{text}\"", $"@{text}");
                var asFilter = $"{text}#";
                events = events.Where(a =>
                    a.Target == text || a.Target.StartsWith(asFilter) || a.Target.StartsWith(startsList) || a.Target.StartsWith(startsMore) ||
                    a.Target.Contains(listed) || a.Target.Contains(listedAnd) || a.Target.EndsWith(listedBefore) ||
                    a.Target.Contains(asSubjectSet) || a.Target.EndsWith(asFilterSubject) ||
                    (a.Before != null && (a.Before.Contains(asResource) || a.Before.Contains(asSubject) || a.Before.Contains(asSubjectSet) || a.Before.Contains(asValue))) ||
                    (a.After != null && (a.After.Contains(asResource) || a.After.Contains(asSubject) || a.After.Contains(asSubjectSet) || a.After.Contains(asValue))));
            }

            if (query.Actor is { } actor)
            {
                events = events.Where(a => a.Actor == actor);
            }

            if (query.Since is { } since)
            {
                events = events.Where(a => a.OccurredAt >= since);
            }

            if (query.Until is { } until)
            {
                events = events.Where(a => a.OccurredAt < until);
            }

            if (query.BeforeId is { } beforeId)
            {
                events = events.Where(a => a.Id < beforeId);
            }

            return await events.OrderByDescending(a => a.Id).Take(query.Limit)
                .Select(a => new AuditEvent(a.Id, a.Revision, a.OccurredAt, a.Actor, a.Operation, a.Target, a.Before, a.After))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The id of the newest audit event (0 when there is none). Ids are assigned under the store-wide write lock and
    /// committed before it is released, so they increase in commit order: a reader that has seen event N never sees an
    /// event below N commit later, and "the events after N" is a safe place to resume (PostgreSQL may leave gaps,
    /// never out-of-order ids).
    /// </summary>
    public async Task<long> NewestIdAsync(CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.AuditEvents.AsNoTracking().MaxAsync(a => (long?)a.Id, cancellationToken).ConfigureAwait(false) ?? 0;
        }
    }

    /// <summary>Audit events with an id above <paramref name="afterId"/>, oldest first; at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<AuditEvent>> ReadAsync(long afterId = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.AuditEvents.AsNoTracking()
                .Where(a => a.Id > afterId)
                .OrderBy(a => a.Id)
                .Take(limit)
                .Select(a => new AuditEvent(a.Id, a.Revision, a.OccurredAt, a.Actor, a.Operation, a.Target, a.Before, a.After))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
