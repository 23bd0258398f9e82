namespace AuthzGrpc.Core.Graph;

/// <summary>
/// Stored relationships read on demand, in batches, from one consistent state (a database snapshot): what a replica
/// that holds no engine reads to compute the records of a few objects (<see cref="RecordBuilder"/>). Every read returns
/// the relationships as stored — expired ones not yet deleted included, with their expiry and caveat — in no order.
/// </summary>
public interface IRelationshipIndex
{
    /// <summary>The revision of the state every read sees.</summary>
    long Revision { get; }

    /// <summary>
    /// The relationships whose resource is one of <paramref name="resources"/>, only those on a relation named in
    /// <paramref name="relations"/> when it is given; at most <paramref name="maxRows"/> of them (a caller given that
    /// many cannot tell whether there were more).
    /// </summary>
    Task<IReadOnlyList<Relationship>> ReadByResourcesAsync(
        IReadOnlyCollection<ObjectRef> resources, IReadOnlyCollection<string>? relations, int maxRows, CancellationToken cancellationToken);

    /// <summary>
    /// The relationships whose subject is exactly one of <paramref name="subjects"/> (an object, a subject set or a
    /// wildcard; an object does not select its subject sets), only those on a relation named in
    /// <paramref name="relations"/> when it is given; at most <paramref name="maxRows"/> of them.
    /// </summary>
    Task<IReadOnlyList<Relationship>> ReadBySubjectsAsync(
        IReadOnlyCollection<SubjectRef> subjects, IReadOnlyCollection<string>? relations, int maxRows, CancellationToken cancellationToken);
}
