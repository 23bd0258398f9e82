using AuthzGrpc.Core.Engine;

namespace AuthzGrpc.Storage;

/// <summary>What the store holds, as loaded at start.</summary>
/// <param name="SchemaText">The schema in force (the newest version), or null when the database is new.</param>
/// <param name="Relationships">Every stored relationship.</param>
/// <param name="Revision">The newest committed revision (0 when nothing was ever written).</param>
public sealed record StoredModel(string? SchemaText, IReadOnlyList<Relationship> Relationships, long Revision);

/// <summary>Whether a precondition's filter must match at least one stored relationship, or none.</summary>
public enum PreconditionKind
{
    /// <summary>At least one stored relationship matches.</summary>
    MustMatch,

    /// <summary>No stored relationship matches.</summary>
    MustNotMatch,
}

/// <summary>A condition on the stored relationships, evaluated inside the write's transaction before it changes anything.</summary>
public sealed record StorePrecondition(PreconditionKind Kind, RelationshipFilter Filter);

/// <summary>The outcome of a schema write.</summary>
/// <param name="Revision">The revision the schema took effect at.</param>
/// <param name="Deleted">Relationships the new schema no longer admits, deleted because the write was forced.</param>
/// <param name="Remaining">Every relationship stored after the write (the new engine's contents).</param>
public sealed record SchemaWriteResult(long Revision, IReadOnlyList<Relationship> Deleted, IReadOnlyList<Relationship> Remaining);

/// <summary>The outcome of a delete by filter.</summary>
/// <param name="Revision">The revision the deletion committed.</param>
/// <param name="Deleted">The relationships deleted.</param>
public sealed record RelationshipDeletion(long Revision, IReadOnlyList<Relationship> Deleted);

/// <summary>One relationship change of the change log: <see cref="RelationshipOperation.Touch"/> (now stored) or <see cref="RelationshipOperation.Delete"/>.</summary>
public readonly record struct StoredChange(RelationshipOperation Operation, Relationship Relationship);

/// <summary>One committed revision of the change log with the relationships it changed.</summary>
public sealed record RevisionChanges(long Revision, DateTime CommittedAt, string Actor, string Operation, IReadOnlyList<StoredChange> Changes);

/// <summary>One audit event.</summary>
public sealed record AuditEvent(
    long Id, long Revision, DateTime OccurredAt, string Actor, string Operation, string Target, string? Before, string? After);

/// <summary>One stored schema version.</summary>
public sealed record SchemaVersion(string Text, long Revision, DateTime CreatedAt, string Actor);

/// <summary>
/// The newest stored schema version: the revision that wrote it, and its text — null when the reader said it already
/// holds that revision's (<see cref="ModelStore.ReadSchemaAsync"/>), so an unchanged schema is not read again.
/// </summary>
public sealed record StoredSchema(long Revision, string? Text);

/// <summary>What a management operation does to an object's stored metadata (its record in <c>resources</c>).</summary>
public enum ResourceChangeKind
{
    /// <summary>Writes the record: the name and the description (null: none).</summary>
    Create,

    /// <summary>Changes the name and/or description of the record (a null one is kept); NotFound when there is no record.</summary>
    Update,

    /// <summary>Removes the record, if any.</summary>
    Delete,
}

/// <summary>The metadata of an object a management operation creates, updates or deletes.</summary>
/// <param name="Resource">The object.</param>
/// <param name="Kind">What to do with its record.</param>
/// <param name="Name">Its display name; for an update, null keeps the stored one.</param>
/// <param name="Description">Its description; null: none (create) or keep the stored one (update); empty clears it.</param>
public sealed record ResourceChange(ObjectRef Resource, ResourceChangeKind Kind, string? Name = null, string? Description = null)
{
    /// <summary>The record of a new object.</summary>
    public static ResourceChange Created(ObjectRef resource, string name, string? description) =>
        new(resource, ResourceChangeKind.Create, name, description);

    /// <summary>A new name and/or description for an object's record; a null one is kept.</summary>
    public static ResourceChange Updated(ObjectRef resource, string? name, string? description) =>
        new(resource, ResourceChangeKind.Update, name, description);

    /// <summary>The record of an object that goes away.</summary>
    public static ResourceChange Deleted(ObjectRef resource) => new(resource, ResourceChangeKind.Delete);

    /// <summary>For a create: the records of the objects created inside this one in the same step.</summary>
    public IReadOnlyList<ResourceChange> Children { get; init; } = [];
}

/// <summary>The stored record of an object made with CreateResource.</summary>
/// <param name="Resource">The object.</param>
/// <param name="Name">Its display name (empty when it has none).</param>
/// <param name="Description">Its description, if any.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="UpdatedAt">When its record last changed (UTC).</param>
public sealed record StoredResource(ObjectRef Resource, string Name, string? Description, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A filter over the audit log; null fields do not filter.</summary>
/// <param name="Resource">Only events that name this object.</param>
/// <param name="Actor">Only events by this actor.</param>
/// <param name="Since">Only events at or after this time (UTC).</param>
/// <param name="Until">Only events before this time (UTC).</param>
/// <param name="BeforeId">Only events with a smaller id (the next page).</param>
/// <param name="Limit">At most this many.</param>
public sealed record AuditQuery(ObjectRef? Resource, string? Actor, DateTime? Since, DateTime? Until, long? BeforeId, int Limit);
