using AuthzGrpc.Core.Model;
using AuthzGrpc.V1;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

/// <summary>Shape checks of the RelationshipService's requests; field paths such as <c>updates[2].relationship.subject.object.id</c>.</summary>
internal static partial class RequestValidation
{
    /// <summary>Validates one update of a write.</summary>
    public static FieldViolation? Update(V1.RelationshipUpdate update, string field)
    {
        if (update.Operation is not (Operation.Create or Operation.Touch or Operation.Delete))
        {
            return Violation(field + ".operation", "is required: OPERATION_CREATE, OPERATION_TOUCH or OPERATION_DELETE");
        }

        return Relationship(update.Relationship, field + ".relationship");
    }

    /// <summary>Validates a relationship to write: <c>type:id#relation@type:id[#relation]</c>, or <c>type:*</c> as the subject.</summary>
    public static FieldViolation? Relationship(V1.Relationship? relationship, string field)
    {
        if (relationship is null)
        {
            return Violation(field, "is required: the relationship, e.g. project:web#viewer@user:alice");
        }

        return Object(relationship.Resource, field + ".resource")
            ?? Name(relationship.Relation, field + ".relation", "a relation of the resource's type, e.g. viewer")
            ?? StoredSubject(relationship.Subject, field + ".subject")
            ?? Expiry(relationship.OptionalExpiresAt, field + ".optional_expires_at")
            ?? CaveatMapping.Caveat(relationship.OptionalCaveat, field + ".optional_caveat");
    }

    /// <summary>Validates an optional expiry: a Timestamp a DateTimeOffset can hold (years 1 to 9999, nanos within a second).</summary>
    public static FieldViolation? Expiry(Google.Protobuf.WellKnownTypes.Timestamp? expiresAt, string field) =>
        expiresAt is null || (expiresAt.Seconds is >= -62135596800 and <= 253402300799 && expiresAt.Nanos is >= 0 and <= 999_999_999)
            ? null
            : Violation(field, "is not a valid time: seconds from 0001-01-01 to 9999-12-31 and nanos from 0 to 999999999");

    /// <summary>Validates a relationship filter (of a read, a delete or a precondition).</summary>
    public static FieldViolation? Filter(V1.RelationshipFilter? filter, string field)
    {
        if (filter is null)
        {
            return Violation(field, "is required: at least the resource_type of the relationships");
        }

        var violation = Type(filter.ResourceType, field + ".resource_type")
            ?? (filter.ResourceId.Length == 0 ? null : Id(filter.ResourceId, field + ".resource_id"))
            ?? (filter.Relation.Length == 0 ? null : Name(filter.Relation, field + ".relation", "a relation"));
        if (violation is not null || filter.Subject is not { } subject)
        {
            return violation;
        }

        return Type(subject.SubjectType, field + ".subject.subject_type")
            ?? (subject.SubjectId.Length == 0 || subject.SubjectId == Identifiers.Wildcard ? null : Id(subject.SubjectId, field + ".subject.subject_id"))
            ?? (subject.HasRelation && subject.Relation.Length > 0 ? Name(subject.Relation, field + ".subject.relation", "a relation") : null);
    }

    /// <summary>Validates a precondition.</summary>
    public static FieldViolation? Precondition(V1.Precondition precondition, string field)
    {
        if (precondition.Operation is not (V1.Precondition.Types.Operation.MustMatch or V1.Precondition.Types.Operation.MustNotMatch))
        {
            return Violation(field + ".operation", "is required: OPERATION_MUST_MATCH or OPERATION_MUST_NOT_MATCH");
        }

        return Filter(precondition.Filter, field + ".filter");
    }

    private static FieldViolation? Object(V1.ObjectRef? value, string field)
    {
        if (value is null)
        {
            return Violation(field, "is required: an object, e.g. project:web");
        }

        return Type(value.Type, field + ".type") ?? Id(value.Id, field + ".id");
    }

    // A stored subject may be `type:*` (every object of the type), which names no relation.
    private static FieldViolation? StoredSubject(V1.SubjectRef? subject, string field)
    {
        if (subject is null)
        {
            return Violation(field, "is required: the subject, e.g. user:alice or group:eng#member");
        }

        if (subject.Object is null)
        {
            return Violation(field + ".object", "is required: the subject's type and id, e.g. user:alice");
        }

        if (subject.Object.Id == Identifiers.Wildcard)
        {
            return Type(subject.Object.Type, field + ".object.type")
                ?? (subject.Relation.Length == 0 ? null : Violation(field + ".relation", "a wildcard subject (type:*) cannot name a relation"));
        }

        return Type(subject.Object.Type, field + ".object.type")
            ?? Id(subject.Object.Id, field + ".object.id")
            ?? (subject.Relation.Length == 0 ? null : Name(subject.Relation, field + ".relation", "empty for the object itself, or a relation such as member"));
    }
}
