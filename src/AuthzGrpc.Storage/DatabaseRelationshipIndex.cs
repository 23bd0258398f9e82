using AuthzGrpc.Core.Graph;
using Microsoft.EntityFrameworkCore.Storage;

namespace AuthzGrpc.Storage;

/// <summary>
/// The relationships table read on demand, at one snapshot, for <see cref="RecordBuilder"/>: each read is one query
/// (one per <see cref="ChunkSize"/> objects or subjects asked) selecting, per type, <c>type = @t AND id IN (...)</c> —
/// on the key index (resource type, id, relation, ...) by resource, on <c>ix_relationships_subject</c> (subject type, id,
/// relation) by subject — the types' selections joined with UNION ALL. Expired relationships not yet deleted are read
/// too, as the engine holds them. One read at a time; dispose it to end the snapshot.
/// </summary>
public sealed class DatabaseRelationshipIndex : IRelationshipIndex, IAsyncDisposable
{
    /// <summary>At most this many ids in one query's IN lists; a larger read is split into several queries.</summary>
    public const int ChunkSize = 500;

    private readonly AuthzDbContext _context;
    private readonly IDbContextTransaction _transaction;

    internal DatabaseRelationshipIndex(AuthzDbContext context, IDbContextTransaction transaction, long revision)
    {
        _context = context;
        _transaction = transaction;
        Revision = revision;
    }

    /// <inheritdoc/>
    public long Revision { get; }

    /// <summary>How many queries the reads have sent so far.</summary>
    public int Queries { get; private set; }

    /// <inheritdoc/>
    public Task<IReadOnlyList<Relationship>> ReadByResourcesAsync(
        IReadOnlyCollection<ObjectRef> resources, IReadOnlyCollection<string>? relations, int maxRows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var byType = resources.GroupBy(r => r.Type, r => r.Id, StringComparer.Ordinal).Select(g => (g.Key, g.Distinct(StringComparer.Ordinal).ToList()));
        return ReadAsync(byType, (type, ids) => r => r.ResourceType == type && ids.Contains(r.ResourceId), relations, maxRows, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<Relationship>> ReadBySubjectsAsync(
        IReadOnlyCollection<SubjectRef> subjects, IReadOnlyCollection<string>? relations, int maxRows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        // Stored with an empty subject relation for an object or a wildcard (never null, so the indexes cover it).
        var byShape = subjects.GroupBy(s => (s.Type, Relation: s.Relation ?? string.Empty), s => s.Id)
            .Select(g => (g.Key, g.Distinct(StringComparer.Ordinal).ToList()));
        return ReadAsync(
            byShape, (shape, ids) => r => r.SubjectType == shape.Type && r.SubjectRelation == shape.Relation && ids.Contains(r.SubjectId),
            relations, maxRows, cancellationToken);
    }

    /// <summary>
    /// The newest schema version at this snapshot — the one its relationships were written under — its text left out
    /// when it is the one written at <paramref name="heldRevision"/> (<see cref="ModelStore.ReadSchemaAsync"/>).
    /// </summary>
    public Task<StoredSchema?> ReadSchemaAsync(long heldRevision, CancellationToken cancellationToken)
    {
        Queries++;
        return ModelStore.NewestSchemaAsync(_context, heldRevision, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync().ConfigureAwait(false);
        await _context.DisposeAsync().ConfigureAwait(false);
    }

    // One query per chunk of ids: every group's selection in it joined with UNION ALL, each filtered by relation in
    // itself (so each part keeps its index), and the whole limited to the rows still wanted.
    private async Task<IReadOnlyList<Relationship>> ReadAsync<TKey>(
        IEnumerable<(TKey Key, List<string> Ids)> groups, Func<TKey, List<string>, System.Linq.Expressions.Expression<Func<RelationshipRow, bool>>> selection,
        IReadOnlyCollection<string>? relations, int maxRows, CancellationToken cancellationToken)
    {
        var names = relations?.Distinct(StringComparer.Ordinal).ToList();
        var result = new List<Relationship>();
        foreach (var chunk in Chunks(groups))
        {
            IQueryable<RelationshipRow>? query = null;
            foreach (var (key, ids) in chunk)
            {
                var part = _context.Relationships.AsNoTracking().Where(selection(key, ids));
                part = names is null ? part : part.Where(r => names.Contains(r.Relation));
                query = query is null ? part : query.Concat(part);
            }

            if (query is null || result.Count >= maxRows)
            {
                break;
            }

            Queries++;
            var rows = await query.Take(maxRows - result.Count).ToListAsync(cancellationToken).ConfigureAwait(false);
            result.AddRange(rows.Select(r => r.ToRelationship()));
        }

        return result;
    }

    // The groups split so that no chunk holds more than ChunkSize ids; a group may span chunks.
    private static IEnumerable<List<(TKey Key, List<string> Ids)>> Chunks<TKey>(IEnumerable<(TKey Key, List<string> Ids)> groups)
    {
        var chunk = new List<(TKey Key, List<string> Ids)>();
        var size = 0;
        foreach (var (key, ids) in groups)
        {
            foreach (var part in ids.Chunk(ChunkSize))
            {
                if (size + part.Length > ChunkSize)
                {
                    yield return chunk;
                    (chunk, size) = ([], 0);
                }

                chunk.Add((key, [.. part]));
                size += part.Length;
            }
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }
}
