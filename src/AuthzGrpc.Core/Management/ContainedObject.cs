namespace AuthzGrpc.Core.Management;

/// <summary>
/// An object created inside another in the same step (CreateResource's children): a project's production environment
/// (a <c>require one</c> rule) or the environment type it has. It belongs to the new object through its type's
/// <c>parent</c> relation (or the relation its <c>create by</c> rule names).
/// </summary>
/// <param name="Resource">The new object; it must not exist.</param>
/// <param name="Attributes">Its further relationships, as <see cref="ManagementPlanner.Create"/> takes them.</param>
public sealed record ContainedObject(ObjectRef Resource, IReadOnlyList<(string Relation, SubjectRef Subject)> Attributes);
