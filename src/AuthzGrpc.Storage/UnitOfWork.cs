using AuthzGrpc.Core.Engine;
using static AuthzGrpc.Storage.RelationshipRows;

namespace AuthzGrpc.Storage;

/// <summary>
/// One write's transaction, shared by the stores it touches (an accepted invitation changes relationships, the
/// invitation and a principal at once): the context, the revision it commits at (or the revision in force, for a write
/// that consumes none), its time and its actor, and the staging every store uses — relationship changes with their
/// change log, audit events. Made only by <see cref="AuthzDatabase.WriteAsync"/>.
/// </summary>
internal sealed class UnitOfWork(AuthzDbContext context, long revision, DateTime now, string actor)
{
    // Keys per existence query of a write batch.
    private const int LookupChunk = 200;

    /// <summary>The transaction's context.</summary>
    public AuthzDbContext Context { get; } = context;

    /// <summary>The revision this write commits at (a model write), or the revision in force (a key write).</summary>
    public long Revision { get; } = revision;

    /// <summary>When the write happens, by the database's clock (UTC).</summary>
    public DateTime Now { get; } = now;

    /// <summary>Who writes.</summary>
    public string Actor { get; } = actor;

    /// <summary>The context, revision and time, for a body that uses them together.</summary>
    public void Deconstruct(out AuthzDbContext context, out long revision, out DateTime now) => (context, revision, now) = (Context, Revision, Now);

    /// <summary>
    /// Replays <paramref name="updates"/> in order against the stored relationships within a write's transaction and
    /// stages the net effect (rows and change log); returns what was added (or given a new expiry) and removed. A stored
    /// relationship that has expired counts as absent: creating it again succeeds.
    /// </summary>
    internal async Task<(List<Relationship> Added, List<Relationship> Removed)> ApplyUpdatesAsync(
        IReadOnlyList<RelationshipUpdate> updates, CancellationToken cancellationToken)
    {
        // The stored row (or null) of every relationship the batch names, then the batch replayed in order: what each
        // ends as (null: absent), with the expiry the last write gave it.
        var stored = await FindAsync(Context, updates.Select(u => u.Relationship).Distinct().ToList(), cancellationToken).ConfigureAwait(false);
        var final = stored.ToDictionary(p => p.Key, p => p.Value?.ToRelationship());
        var now = new DateTimeOffset(DateTime.SpecifyKind(Now, DateTimeKind.Utc));
        foreach (var update in updates)
        {
            var relationship = update.Relationship;
            switch (update.Operation)
            {
                case RelationshipOperation.Create when final[relationship] is { } existing && !existing.IsExpiredAt(now):
                    throw new AuthzException(AuthzErrorKind.AlreadyExists, $"{relationship} already exists: use touch to write it regardless");
                case RelationshipOperation.Create or RelationshipOperation.Touch:
                    final[relationship] = relationship;
                    break;
                default:
                    final[relationship] = null;
                    break;
            }
        }

        var added = new List<Relationship>();
        var removed = new List<Relationship>();
        var changes = new List<StoredChange>();
        foreach (var (key, row) in stored)
        {
            var result = final[key];
            if (row is null && result is { } created)
            {
                Context.Relationships.Add(ToRow(created, Revision));
                added.Add(created);
                changes.Add(new StoredChange(RelationshipOperation.Touch, created));
            }
            else if (row is not null && result is null)
            {
                var deleted = row.ToRelationship();
                Context.Relationships.Remove(row);
                removed.Add(deleted);
                changes.Add(new StoredChange(RelationshipOperation.Delete, deleted));
            }
            else if (row is not null && result is { } touched && !row.HasAttributesOf(touched))
            {
                // The same relationship with another expiry or caveat (or none): rewritten in place, logged as a touch.
                row.SetAttributes(touched);
                added.Add(touched);
                changes.Add(new StoredChange(RelationshipOperation.Touch, touched));
            }
        }

        AddChanges(changes);
        return (added, removed);
    }

    internal async Task CheckPreconditionsAsync(IReadOnlyList<StorePrecondition> preconditions, CancellationToken cancellationToken)
    {
        for (var i = 0; i < preconditions.Count; i++)
        {
            var precondition = preconditions[i];
            var matches = await Context.Relationships.Matching(precondition.Filter).AnyAsync(cancellationToken).ConfigureAwait(false);
            if (matches != (precondition.Kind == PreconditionKind.MustMatch))
            {
                var what = precondition.Kind == PreconditionKind.MustMatch
                    ? $"must match a stored relationship, but none matches {Describe(precondition.Filter)}"
                    : $"must match no stored relationship, but {Describe(precondition.Filter)} matches at least one";
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"preconditions[{i}] failed: the filter {what}");
            }
        }
    }

    /// <summary>The stored row of each relationship (tracked, so it can be removed), or null when it is not stored.</summary>
    private static async Task<List<KeyValuePair<Relationship, RelationshipRow?>>> FindAsync(
        AuthzDbContext context, IReadOnlyList<Relationship> relationships, CancellationToken cancellationToken)
    {
        var found = new Dictionary<Relationship, RelationshipRow>();

        // One query per group sharing everything but the two ids: ids IN (...) on both sides, exact match in memory.
        var groups = relationships.GroupBy(r => (r.Resource.Type, r.Relation, r.Subject.Type, SubjectRelation: r.Subject.Relation ?? string.Empty));
        foreach (var group in groups)
        {
            foreach (var chunk in group.Chunk(LookupChunk))
            {
                var (resourceType, relation, subjectType, subjectRelation) = group.Key;
                var resourceIds = chunk.Select(r => r.Resource.Id).Distinct().ToList();
                var subjectIds = chunk.Select(r => r.Subject.Id).Distinct().ToList();
                var wanted = chunk.ToHashSet();
                var rows = await context.Relationships
                    .Where(r => r.ResourceType == resourceType && r.Relation == relation && r.SubjectType == subjectType &&
                                r.SubjectRelation == subjectRelation && resourceIds.Contains(r.ResourceId) && subjectIds.Contains(r.SubjectId))
                    .ToListAsync(cancellationToken).ConfigureAwait(false);
                foreach (var row in rows)
                {
                    var relationship = row.ToRelationship();
                    if (wanted.Contains(relationship))
                    {
                        found[relationship] = row;
                    }
                }
            }
        }

        return [.. relationships.Select(r => new KeyValuePair<Relationship, RelationshipRow?>(r, found.GetValueOrDefault(r)))];
    }

    internal void AddChanges(List<StoredChange> changes)
    {
        for (var i = 0; i < changes.Count; i++)
        {
            var (operation, relationship) = changes[i];
            var row = new ChangeRow
            {
                Revision = Revision,
                Sequence = i,
                Operation = operation == RelationshipOperation.Delete ? DeleteOperation : TouchOperation,
            };
            row.Set(relationship);
            Context.Changes.Add(row);
        }
    }

    /// <summary>Stages the audit event of this write: what <paramref name="operation"/> did to <paramref name="target"/>.</summary>
    internal void Audit(string operation, string target, string? before, string? after) =>
        Context.AuditEvents.Add(new AuditEventRow
        {
            Revision = Revision,
            OccurredAt = Now,
            Actor = Actor,
            Operation = operation,
            Target = target.Length <= 1024 ? target : target[..1021] + "...",
            Before = before,
            After = after,
        });
}
