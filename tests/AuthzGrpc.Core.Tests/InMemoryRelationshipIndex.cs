using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// An <see cref="IRelationshipIndex"/> over a list of relationships, as stored (expired ones included), counting its
/// reads so a test can say how many a record cost.
/// </summary>
internal sealed class InMemoryRelationshipIndex(IEnumerable<Relationship> relationships, long revision) : IRelationshipIndex
{
    private readonly List<Relationship> _relationships = [.. relationships];

    /// <inheritdoc/>
    public long Revision { get; } = revision;

    /// <summary>How many reads (one per level of a walk) have been made.</summary>
    public int Reads { get; private set; }

    /// <inheritdoc/>
    public Task<IReadOnlyList<Relationship>> ReadByResourcesAsync(
        IReadOnlyCollection<ObjectRef> resources, IReadOnlyCollection<string>? relations, int maxRows, CancellationToken cancellationToken)
    {
        var wanted = resources.ToHashSet();
        return Read(r => wanted.Contains(r.Resource), relations, maxRows);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<Relationship>> ReadBySubjectsAsync(
        IReadOnlyCollection<SubjectRef> subjects, IReadOnlyCollection<string>? relations, int maxRows, CancellationToken cancellationToken)
    {
        var wanted = subjects.ToHashSet();
        return Read(r => wanted.Contains(r.Subject), relations, maxRows);
    }

    private Task<IReadOnlyList<Relationship>> Read(Func<Relationship, bool> selects, IReadOnlyCollection<string>? relations, int maxRows)
    {
        Reads++;
        IReadOnlyList<Relationship> rows = [.. _relationships.Where(r => selects(r) && (relations is null || relations.Contains(r.Relation))).Take(maxRows)];
        return Task.FromResult(rows);
    }
}
