namespace AuthzGrpc.Storage.Entities;

/// <summary>One version of the schema; the one with the highest <see cref="Revision"/> is in force.</summary>
internal sealed class SchemaVersionRow
{
    public long Id { get; set; }

    /// <summary>The schema text as written.</summary>
    public string Text { get; set; } = string.Empty;

    /// <summary>The revision that wrote it.</summary>
    public long Revision { get; set; }

    public DateTime CreatedAt { get; set; }

    public string Actor { get; set; } = string.Empty;
}

/// <summary>
/// The columns of one relationship <c>resource_type:resource_id#relation@subject_type:subject_id[#subject_relation]</c>,
/// shared by the stored relationships and the change log, so both spell and bound a relationship the same way.
/// Not an entity itself: each derived row maps them into its own table.
/// </summary>
internal abstract class RelationshipColumns
{
    public string ResourceType { get; set; } = string.Empty;

    public string ResourceId { get; set; } = string.Empty;

    public string Relation { get; set; } = string.Empty;

    public string SubjectType { get; set; } = string.Empty;

    public string SubjectId { get; set; } = string.Empty;

    /// <summary>Empty when the subject is the object itself (never null, so the unique index covers it).</summary>
    public string SubjectRelation { get; set; } = string.Empty;

    /// <summary>When the relationship stops counting (UTC), or null for never. Not part of its identity.</summary>
    public DateTime? ExpiresAt { get; set; }

    /// <summary>The caveat it holds under, or null for none. Not part of its identity.</summary>
    public string? CaveatName { get; set; }

    /// <summary>The caveat's context written with it, as canonical JSON; null without a caveat or with an empty context.</summary>
    public string? CaveatContext { get; set; }

    /// <summary>The relationship the columns hold.</summary>
    public Relationship ToRelationship() =>
        ToRelationship(ResourceType, ResourceId, Relation, SubjectType, SubjectId, SubjectRelation, ExpiresAt, CaveatName, CaveatContext);

    /// <summary>The relationship these column values hold (as <see cref="RelationshipColumns"/> stores them).</summary>
    public static Relationship ToRelationship(
        string resourceType, string resourceId, string relation, string subjectType, string subjectId, string subjectRelation,
        DateTime? expiresAt, string? caveatName, string? caveatContext) =>
        new(new ObjectRef(resourceType, resourceId), relation, new SubjectRef(subjectType, subjectId, subjectRelation.Length == 0 ? null : subjectRelation))
        {
            // SQLite hands times back unspecified; they were written as UTC.
            ExpiresAt = expiresAt is { } utc ? new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)) : null,
            Caveat = caveatName is { } name
                ? new RelationshipCaveat(name, caveatContext is { } json ? Core.Caveats.CaveatContext.Parse(json) : Core.Caveats.CaveatContext.Empty)
                : null,
        };

    /// <summary>Sets the columns to <paramref name="relationship"/>'s.</summary>
    public void Set(Relationship relationship)
    {
        (ResourceType, ResourceId, Relation) = (relationship.Resource.Type, relationship.Resource.Id, relationship.Relation);
        (SubjectType, SubjectId, SubjectRelation) = (relationship.Subject.Type, relationship.Subject.Id, relationship.Subject.Relation ?? string.Empty);
        SetAttributes(relationship);
    }

    /// <summary>Sets the columns that are not the relationship's identity (expiry, caveat) to <paramref name="relationship"/>'s.</summary>
    public void SetAttributes(Relationship relationship)
    {
        ExpiresAt = relationship.ExpiresAt?.UtcDateTime;
        CaveatName = relationship.Caveat?.Name;
        CaveatContext = relationship.Caveat is { Context.IsEmpty: false } caveat ? caveat.Context.ToJson() : null;
    }

    /// <summary>Whether the columns that are not the identity hold <paramref name="relationship"/>'s.</summary>
    public bool HasAttributesOf(Relationship relationship) =>
        ExpiresAt == relationship.ExpiresAt?.UtcDateTime && Equals(ToRelationship().Caveat, relationship.Caveat);
}

/// <summary>A stored relationship.</summary>
internal sealed class RelationshipRow : RelationshipColumns
{
    public long Id { get; set; }

    /// <summary>The revision that created it.</summary>
    public long CreatedRevision { get; set; }
}

/// <summary>
/// The single row (id 1) holding the newest committed revision; writers lock it to serialize. It also holds the
/// database's identity, created with it.
/// </summary>
internal sealed class RevisionCounterRow
{
    public int Id { get; set; }

    public long Revision { get; set; }

    /// <summary>
    /// A random id (32 hex digits) given to the database once, at its first start (empty until then): what binds the
    /// shared graph in Redis to this database, so a graph built from another database is never read.
    /// </summary>
    public string DatabaseId { get; set; } = string.Empty;
}

/// <summary>One committed write: its revision, when, by whom, and what kind of write.</summary>
internal sealed class RevisionRow
{
    public long Revision { get; set; }

    public DateTime CommittedAt { get; set; }

    public string Actor { get; set; } = string.Empty;

    /// <summary>The kind of write, e.g. <c>WriteRelationships</c>, <c>WriteSchema</c>, <c>Seed</c>.</summary>
    public string Operation { get; set; } = string.Empty;

    /// <summary>
    /// A random value (32 hex digits) drawn when the revision commits; empty for revisions committed before it existed.
    /// Two histories of one database (the database and a restored backup of it written on) that reach the same revision
    /// number differ here, so the shared graph can tell whose revision it holds.
    /// </summary>
    public string Marker { get; set; } = string.Empty;
}

/// <summary>One relationship changed by a revision (the change log that Watch streams).</summary>
internal sealed class ChangeRow : RelationshipColumns
{
    public long Id { get; set; }

    public long Revision { get; set; }

    /// <summary>Order of the change within its revision, from 0.</summary>
    public int Sequence { get; set; }

    /// <summary><c>touch</c> (the relationship now exists) or <c>delete</c> (it no longer does).</summary>
    public string Operation { get; set; } = string.Empty;
}

/// <summary>An invitation to join a resource with roles, answered with a token (only its hash is stored).</summary>
internal sealed class InvitationRow
{
    public string Id { get; set; } = string.Empty;

    public string Email { get; set; } = string.Empty;

    public string ResourceType { get; set; } = string.Empty;

    public string ResourceId { get; set; } = string.Empty;

    /// <summary>The relations granted on acceptance, as a JSON array of names.</summary>
    public string RolesJson { get; set; } = "[]";

    /// <summary>
    /// The further grants on other objects made on acceptance (R14: environment-type roles beside a project role), as a
    /// JSON array of <c>{"resource": "type:id", "roles": [...]}</c>; <c>[]</c> when the invitation names one object.
    /// </summary>
    public string GrantsJson { get; set; } = "[]";

    /// <summary>
    /// The <c>to</c> conditions the inviter's grant rules left for acceptance (the accepter must already have one of the
    /// permissions on the object), as a JSON array of <c>{"resource", "role", "any_of": [...]}</c>; <c>[]</c> for none.
    /// </summary>
    public string ConditionsJson { get; set; } = "[]";

    public string TokenHash { get; set; } = string.Empty;

    /// <summary><c>pending</c>, <c>accepted</c>, <c>revoked</c> or <c>expired</c>.</summary>
    public string Status { get; set; } = "pending";

    /// <summary>When the roles it gives on acceptance stop counting (UTC), or null for never: a time-boxed invitation.</summary>
    public DateTime? AccessExpiresAt { get; set; }

    public string InvitedBy { get; set; } = string.Empty;

    public DateTime CreatedAt { get; set; }

    public DateTime ExpiresAt { get; set; }

    public DateTime? SentAt { get; set; }

    public DateTime? AcceptedAt { get; set; }

    public string? AcceptedBy { get; set; }

    public DateTime? RevokedAt { get; set; }
}

/// <summary>
/// An API key <c>azk_&lt;id&gt;_&lt;secret&gt;</c>: only the SHA-256 of the secret is stored; the key acts as its subject, within
/// what its kind allows.
/// </summary>
internal sealed class ApiKeyRow
{
    /// <summary>The public key id (the part of the key before the secret).</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The SHA-256 of the secret, lowercase hex; the secret itself is never stored.</summary>
    public string KeyHash { get; set; } = string.Empty;

    public string SubjectType { get; set; } = string.Empty;

    public string SubjectId { get; set; } = string.Empty;

    /// <summary><c>check</c> (AuthorizationService only), <c>management</c> (plus ManagementService) or <c>admin</c> (every service).</summary>
    public string Kind { get; set; } = string.Empty;

    /// <summary>What the key is for, as its creator described it.</summary>
    public string Description { get; set; } = string.Empty;

    public DateTime CreatedAt { get; set; }

    /// <summary>When the key was revoked; null while it is valid.</summary>
    public DateTime? RevokedAt { get; set; }

    /// <summary>
    /// The verified email address of the key's subject (lowercase), as whoever issued the key vouched for it; null when
    /// none. Accepting an invitation needs a key carrying the invited address.
    /// </summary>
    public string? Email { get; set; }
}

/// <summary>A subject known by email (the link between an invited email and the user it became).</summary>
internal sealed class PrincipalRow
{
    public long Id { get; set; }

    public string SubjectType { get; set; } = string.Empty;

    public string SubjectId { get; set; } = string.Empty;

    public string Email { get; set; } = string.Empty;

    public string? DisplayName { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>Descriptive data of a resource (the graph itself lives in relationships).</summary>
internal sealed class ResourceRow
{
    public string ResourceType { get; set; } = string.Empty;

    public string ResourceId { get; set; } = string.Empty;

    public string Name { get; set; } = string.Empty;

    public string? Description { get; set; }

    /// <summary>Free-form attributes as a JSON object (e.g. an environment's type).</summary>
    public string AttributesJson { get; set; } = "{}";

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }
}

/// <summary>One mutation, recorded in the same transaction as the mutation.</summary>
internal sealed class AuditEventRow
{
    public long Id { get; set; }

    /// <summary>The revision the mutation committed.</summary>
    public long Revision { get; set; }

    public DateTime OccurredAt { get; set; }

    public string Actor { get; set; } = string.Empty;

    /// <summary>What was done, e.g. <c>WriteRelationships</c>, <c>WriteSchema</c>.</summary>
    public string Operation { get; set; } = string.Empty;

    /// <summary>What it was done to, e.g. <c>project:web</c> or <c>schema</c>.</summary>
    public string Target { get; set; } = string.Empty;

    /// <summary>The state before (text or JSON); null when there was none.</summary>
    public string? Before { get; set; }

    /// <summary>The state after (text or JSON); null when there is none.</summary>
    public string? After { get; set; }
}
