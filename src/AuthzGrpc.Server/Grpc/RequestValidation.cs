using System.Diagnostics.CodeAnalysis;
using AuthzGrpc.Core.Model;
using AuthzGrpc.V1;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// Shape checks of requests before they reach the engine. Each returns null when the request is well formed (and
/// then allocates nothing) or the first violation, naming the field as a path such as <c>subject.object.id</c>.
/// Whether a type, permission or relation exists in the schema is the engine's to say.
/// </summary>
internal static partial class RequestValidation
{
    private const string IdRule = "use 1 to 1024 of A-Z a-z 0-9 _ - . / | = +";
    private const string NameRule = "use lowercase letters, digits and '_', starting with a letter";

    /// <summary>Validates the fields a Check (and an Explain) needs.</summary>
    public static FieldViolation? Check(V1.SubjectRef? subject, string action, V1.ObjectRef? resource) =>
        Subject(subject) ?? Name(action, "action", "a permission or relation of the resource's type, e.g. view") ?? Resource(resource);

    /// <summary>Validates a LookupResources request; its <c>limit</c> against the server's cap (<c>Authz:MaxLookupLimit</c>).</summary>
    public static FieldViolation? LookupResources(LookupResourcesRequest request, int maxLookupLimit) =>
        Subject(request.Subject)
        ?? Name(request.Action, "action", "a permission or relation of the resource type, e.g. view")
        ?? Type(request.ResourceType, "resource_type")
        ?? LookupLimit(request.Limit, maxLookupLimit)
        ?? CaveatMapping.Context(request.CaveatContext, "caveat_context", out _);

    /// <summary>Validates a LookupSubjects request; its <c>limit</c> against the server's cap (<c>Authz:MaxLookupLimit</c>).</summary>
    public static FieldViolation? LookupSubjects(LookupSubjectsRequest request, int maxLookupLimit) =>
        Resource(request.Resource)
        ?? Name(request.Action, "action", "a permission or relation of the resource's type, e.g. view")
        ?? Type(request.SubjectType, "subject_type")
        ?? (request.SubjectRelation.Length == 0 ? null : Name(request.SubjectRelation, "subject_relation", "a relation of the subject type, e.g. member"))
        ?? LookupLimit(request.Limit, maxLookupLimit)
        ?? CaveatMapping.Context(request.CaveatContext, "caveat_context", out _);

    /// <summary>
    /// Reads a check's caveat context (see <see cref="CaveatMapping.Context"/>); a management check
    /// (<paramref name="management"/> set) takes none: its rules have no caveats.
    /// </summary>
    public static FieldViolation? CaveatContext(
        Google.Protobuf.WellKnownTypes.Struct values, CheckContext? management, string field, out Core.Caveats.CaveatContext? context)
    {
        context = null;
        return management is not null
            ? Violation(field, "is for permission checks: a management check (context set) takes no caveat context")
            : CaveatMapping.Context(values, field, out context);
    }

    /// <summary>A violation of a field that is not about one value's shape (e.g. a batch too large).</summary>
    public static FieldViolation Violation(string field, string description) => new() { Field = field, Description = description };

    /// <summary>The first violation among the items of a list, each checked as the field <c>field[i]</c>.</summary>
    public static FieldViolation? Each<T>(IReadOnlyList<T> items, string field, Func<T, string, FieldViolation?> validate)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (validate(items[i], $"{field}[{i}]") is { } violation)
            {
                return violation;
            }
        }

        return null;
    }

    /// <summary>Throws INVALID_ARGUMENT with the violation in a <c>google.rpc.BadRequest</c> detail.</summary>
    [DoesNotReturn]
    public static void Throw(FieldViolation violation) => throw Exception(violation);

    /// <summary>INVALID_ARGUMENT with the violation in a <c>google.rpc.BadRequest</c> detail, for a throw expression.</summary>
    public static RpcException Exception(FieldViolation violation)
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = $"{violation.Field}: {violation.Description}",
            Details = { Any.Pack(new BadRequest { FieldViolations = { violation } }) },
        };
        return status.ToRpcException();
    }

    private static FieldViolation? Subject(V1.SubjectRef? subject)
    {
        if (subject is null)
        {
            return Violation("subject", "is required: the subject that asks, e.g. user:alice");
        }

        if (subject.Object is null)
        {
            return Violation("subject.object", "is required: the subject's type and id, e.g. user:alice");
        }

        if (subject.Object.Id == Identifiers.Wildcard)
        {
            return Violation("subject.object.id", "a wildcard cannot be the subject of a check: name a concrete subject");
        }

        return Type(subject.Object.Type, "subject.object.type")
            ?? Id(subject.Object.Id, "subject.object.id")
            ?? (subject.Relation.Length == 0 ? null : Name(subject.Relation, "subject.relation", "empty for the object itself, or a relation such as member"));
    }

    private static FieldViolation? Resource(V1.ObjectRef? resource)
    {
        if (resource is null)
        {
            return Violation("resource", "is required: the object acted on, e.g. project:web");
        }

        return Type(resource.Type, "resource.type") ?? Id(resource.Id, "resource.id");
    }

    private static FieldViolation? Type(string value, string field)
    {
        if (Identifiers.IsValidType(value))
        {
            return null;
        }

        return value.Length == 0
            ? Violation(field, "is required: a type of the schema, e.g. project")
            : Violation(field, $"'{Truncate(value)}' is not a valid type name: {NameRule}, optionally prefixed 'prefix/'");
    }

    private static FieldViolation? Name(string value, string field, string example)
    {
        if (Identifiers.IsValidName(value))
        {
            return null;
        }

        return value.Length == 0
            ? Violation(field, $"is required: {example}")
            : Violation(field, $"'{Truncate(value)}' is not a valid permission or relation name: {NameRule}");
    }

    private static FieldViolation? Id(string value, string field)
    {
        if (Identifiers.IsValidId(value))
        {
            return null;
        }

        if (value.Length == 0)
        {
            return Violation(field, $"is required: {IdRule}");
        }

        return value.Length > Identifiers.MaxIdLength
            ? Violation(field, $"is {value.Length} characters long; the limit is {Identifiers.MaxIdLength}")
            : Violation(field, $"'{Truncate(value)}' is not a valid id: {IdRule}");
    }

    // 0 means no limit; the cursor (not the cap) is how a client gets past a page.
    private static FieldViolation? LookupLimit(uint limit, int maxLookupLimit) =>
        limit <= maxLookupLimit
            ? null
            : Violation("limit", $"is {limit}; the limit is {maxLookupLimit} (Authz:MaxLookupLimit): ask for at most that many and resume with the last after_result_cursor as cursor");

    // Echo at most a prefix of what the caller sent: messages stay readable and bounded.
    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
