using AuthzGrpc.V1;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Services;

/// <summary>The shape checks of ManagementService requests: names, ids and lengths, before anything is read.</summary>
internal static partial class RequestValidation
{
    /// <summary>The longest display name of an object.</summary>
    public const int MaxNameLength = 200;

    /// <summary>The longest description of an object.</summary>
    public const int MaxDescriptionLength = 2000;

    /// <summary>The most roles or attributes in one request.</summary>
    public const int MaxListItems = 100;

    /// <summary>Throws INVALID_ARGUMENT for the first violation, if any.</summary>
    public static void Require(params FieldViolation?[] violations)
    {
        foreach (var violation in violations)
        {
            if (violation is not null)
            {
                Throw(violation);
            }
        }
    }

    /// <summary>A required object.</summary>
    public static FieldViolation? Target(V1.ObjectRef? value, string field) => Object(value, field);

    /// <summary>A required subject; <c>type:*</c> is allowed (every object of the type).</summary>
    public static FieldViolation? Holder(V1.SubjectRef? value, string field) => StoredSubject(value, field);

    /// <summary>A required role name.</summary>
    public static FieldViolation? Role(string value, string field) => Name(value, field, "a role of the resource's type, e.g. admin");

    /// <summary>A list of role names, bounded.</summary>
    public static FieldViolation? Roles(IReadOnlyList<string> values, string field)
    {
        if (values.Count > MaxListItems)
        {
            return Violation(field, $"has {values.Count} items; the limit is {MaxListItems}");
        }

        for (var i = 0; i < values.Count; i++)
        {
            if (Role(values[i], $"{field}[{i}]") is { } violation)
            {
                return violation;
            }
        }

        return null;
    }

    /// <summary>The metadata and attributes of a new object.</summary>
    public static FieldViolation? Creation(CreateResourceRequest request)
    {
        if ((Target(request.Resource, "resource") ?? Target(request.Parent, "parent")) is { } violation)
        {
            return violation;
        }

        if (request.Name.Length > MaxNameLength)
        {
            return Violation("name", $"is {request.Name.Length} characters long; the limit is {MaxNameLength}");
        }

        if (request.Description.Length > MaxDescriptionLength)
        {
            return Violation("description", $"is {request.Description.Length} characters long; the limit is {MaxDescriptionLength}");
        }

        if (request.Attributes.Count > MaxListItems)
        {
            return Violation("attributes", $"has {request.Attributes.Count} items; the limit is {MaxListItems}");
        }

        for (var i = 0; i < request.Attributes.Count; i++)
        {
            var attribute = request.Attributes[i];
            if ((Name(attribute.Relation, $"attributes[{i}].relation", "a relation of the new object's type, e.g. creator") ?? Holder(attribute.Subject, $"attributes[{i}].subject")) is { } bad)
            {
                return bad;
            }
        }

        return null;
    }
}
