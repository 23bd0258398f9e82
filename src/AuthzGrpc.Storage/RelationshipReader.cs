using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore.Storage;

namespace AuthzGrpc.Storage;

/// <summary>A snapshot read of relationships, streamed, without those expired at the read's start; dispose it to end the read.</summary>
public sealed class RelationshipReader : IAsyncDisposable
{
    private readonly AuthzDbContext _context;
    private readonly IDbContextTransaction _transaction;
    private readonly RelationshipFilter _filter;
    private readonly DateTime _now;

    internal RelationshipReader(
        AuthzDbContext context, IDbContextTransaction transaction, RelationshipFilter filter, long revision, DateTime now)
    {
        _context = context;
        _transaction = transaction;
        _filter = filter;
        Revision = revision;
        _now = now;
    }

    /// <summary>The revision of the snapshot.</summary>
    public long Revision { get; }

    /// <summary>The selected relationships, in the order of their key (resource, relation, subject).</summary>
    public async IAsyncEnumerable<Relationship> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var now = _now;
        var rows = _context.Relationships.AsNoTracking().Matching(_filter)
            .Where(r => r.ExpiresAt == null || r.ExpiresAt > now)
            .OrderBy(r => r.ResourceType).ThenBy(r => r.ResourceId).ThenBy(r => r.Relation)
            .ThenBy(r => r.SubjectType).ThenBy(r => r.SubjectId).ThenBy(r => r.SubjectRelation)
            .AsAsyncEnumerable();
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return row.ToRelationship();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync().ConfigureAwait(false);
        await _context.DisposeAsync().ConfigureAwait(false);
    }
}
