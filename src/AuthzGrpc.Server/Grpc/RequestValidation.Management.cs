using System.Globalization;
using AuthzGrpc.V1;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

/// <summary>The shape checks of ManagementService requests: names, ids and lengths, before anything is read.</summary>
internal static partial class RequestValidation
{
    /// <summary>The longest display name of an object.</summary>
    public const int MaxNameLength = 200;

    /// <summary>The longest description of an object.</summary>
    public const int MaxDescriptionLength = 2000;

    /// <summary>The most roles or attributes in one request.</summary>
    public const int MaxListItems = 100;

    // The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;

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

    // A list of at most MaxListItems; a required one (what to send is in `required`) of at least one too.
    private static FieldViolation? ListLength(int count, string field, string? required = null) =>
        count == 0 && required is not null ? Violation(field, $"is required: {required}")
        : count > MaxListItems ? Violation(field, $"has {count} items; the limit is {MaxListItems}")
        : null;

    /// <summary>A required object.</summary>
    public static FieldViolation? Target(V1.ObjectRef? value, string field) => Object(value, field);

    /// <summary>A parent and an optional type of the objects inside it.</summary>
    public static FieldViolation? Contents(ListResourcesRequest request) =>
        Target(request.Parent, "parent") ?? (request.ResourceType.Length == 0 ? null : Type(request.ResourceType, "resource_type"));

    /// <summary>A required subject; <c>type:*</c> is allowed (every object of the type).</summary>
    public static FieldViolation? Holder(V1.SubjectRef? value, string field) => StoredSubject(value, field);

    /// <summary>A required role name.</summary>
    public static FieldViolation? Role(string value, string field) => Name(value, field, "a role of the resource's type, e.g. admin");

    /// <summary>A list of role names, bounded.</summary>
    public static FieldViolation? Roles(IReadOnlyList<string> values, string field) => ListLength(values.Count, field) ?? Each(values, field, Role);

    /// <summary>
    /// A ChangeRoles request: a subject and 1 to <see cref="MaxListItems"/> items, each with an object, a mode and valid
    /// role names (at least one unless the mode is SET). An object named by two items is the planner's to refuse
    /// (<see cref="Core.Management.ManagementPlanner.ChangeRoles"/>), which names both items.
    /// </summary>
    public static FieldViolation? RoleChanges(ChangeRolesRequest request)
    {
        if (Holder(request.Subject, "subject") is { } subject)
        {
            return subject;
        }

        if (ListLength(request.Changes.Count, "changes", "at least one object with the roles to grant, revoke or set there") is { } length)
        {
            return length;
        }

        for (var i = 0; i < request.Changes.Count; i++)
        {
            var change = request.Changes[i];
            if ((Target(change.Resource, $"changes[{i}].resource") ?? Roles(change.Roles, $"changes[{i}].roles")) is { } violation)
            {
                return violation;
            }

            if (change.Mode is not (RoleChangeMode.Grant or RoleChangeMode.Revoke or RoleChangeMode.Set))
            {
                return Violation($"changes[{i}].mode", "is required: ROLE_CHANGE_MODE_GRANT, ROLE_CHANGE_MODE_REVOKE or ROLE_CHANGE_MODE_SET");
            }

            if (change.Mode != RoleChangeMode.Set && change.Roles.Count == 0)
            {
                return Violation($"changes[{i}].roles", "is required: at least one role to grant or revoke (SET with none leaves only the base membership)");
            }

            if (change.OptionalExpiresAt is not null && change.Mode == RoleChangeMode.Revoke)
            {
                return Violation($"changes[{i}].optional_expires_at", "applies to GRANT and SET only: a revoke takes effect at once");
            }

            if (Expiry(change.OptionalExpiresAt, $"changes[{i}].optional_expires_at") is { } expiry)
            {
                return expiry;
            }
        }

        return null;
    }

    /// <summary>
    /// The further grants of an invitation: at most <see cref="MaxListItems"/>, each an object, mode GRANT (an invitation
    /// only adds roles) and 1 or more valid role names. Objects named twice (or the invitation's own resource) are the
    /// planner's to refuse.
    /// </summary>
    public static FieldViolation? InvitationGrants(IReadOnlyList<RoleChange> grants, string field)
    {
        if (ListLength(grants.Count, field) is { } length)
        {
            return length;
        }

        for (var i = 0; i < grants.Count; i++)
        {
            var grant = grants[i];
            if ((Target(grant.Resource, $"{field}[{i}].resource") ?? Roles(grant.Roles, $"{field}[{i}].roles")) is { } violation)
            {
                return violation;
            }

            if (grant.Mode != RoleChangeMode.Grant)
            {
                return Violation($"{field}[{i}].mode", "must be ROLE_CHANGE_MODE_GRANT: an invitation grants roles on acceptance, it revokes or sets none");
            }

            if (grant.Roles.Count == 0)
            {
                return Violation($"{field}[{i}].roles", "is required: at least one role to grant on acceptance");
            }

            if (grant.OptionalExpiresAt is not null)
            {
                return Violation($"{field}[{i}].optional_expires_at", "is not supported in an invitation: grant a time-boxed role once it is accepted (GrantRole)");
            }
        }

        return null;
    }

    /// <summary>The most children one CreateResource call creates.</summary>
    public const int MaxCreatedChildren = 20;

    /// <summary>The metadata and attributes of a new object, and of each child created with it.</summary>
    public static FieldViolation? Creation(CreateResourceRequest request)
    {
        if ((Target(request.Resource, "resource") ?? Target(request.Parent, "parent")) is { } violation)
        {
            return violation;
        }

        if ((Metadata(request.Name, request.Description) ?? Attributes(request.Attributes, "attributes")) is { } metadata)
        {
            return metadata;
        }

        if (request.Children.Count > MaxCreatedChildren)
        {
            return Violation("children", $"has {request.Children.Count} items; the limit is {MaxCreatedChildren}");
        }

        for (var i = 0; i < request.Children.Count; i++)
        {
            var child = request.Children[i];
            var field = $"children[{i}]";
            if ((Target(child.Resource, $"{field}.resource") ?? Metadata(child.Name, child.Description, $"{field}.") ?? Attributes(child.Attributes, $"{field}.attributes")) is { } bad)
            {
                return bad;
            }
        }

        return null;
    }

    private static FieldViolation? Attributes(Google.Protobuf.Collections.RepeatedField<V1.Attribute> attributes, string field)
    {
        if (ListLength(attributes.Count, field) is { } length)
        {
            return length;
        }

        for (var i = 0; i < attributes.Count; i++)
        {
            var attribute = attributes[i];
            if ((Name(attribute.Relation, $"{field}[{i}].relation", "a relation of the new object's type, e.g. creator") ?? Holder(attribute.Subject, $"{field}[{i}].subject")) is { } bad)
            {
                return bad;
            }
        }

        return null;
    }

    /// <summary>A new name and/or description for an object: at least one set, each within the lengths CreateResource allows.</summary>
    public static FieldViolation? Update(UpdateResourceRequest request)
    {
        if (Target(request.Resource, "resource") is { } violation)
        {
            return violation;
        }

        if (!request.HasName && !request.HasDescription)
        {
            return Violation("name", "nothing to update: set name and/or description (an unset field keeps its stored value)");
        }

        return Metadata(request.Name, request.Description);
    }

    /// <summary>
    /// An optional point in time: unset, or within what a Timestamp may hold (0001-01-01 to 9999-12-31, nanos 0 to
    /// 999,999,999); outside it Timestamp.ToDateTime throws.
    /// </summary>
    public static FieldViolation? Time(Google.Protobuf.WellKnownTypes.Timestamp? value, string field) =>
        value is null or { Seconds: >= MinTimestampSeconds and <= MaxTimestampSeconds, Nanos: >= 0 and <= 999_999_999 }
            ? null
            : Violation(field, "is not a valid time: seconds from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, nanos from 0 to 999999999");

    /// <summary>A WatchEvents starting point: empty (<paramref name="id"/> null: from now on) or a decimal event id.</summary>
    public static FieldViolation? EventPosition(string value, string field, out long? id)
    {
        id = null;
        if (value.Length == 0)
        {
            return null;
        }

        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return Violation(field, $"'{Truncate(value)}' is not an event id: the decimal id of an event received (e.g. 42), 0 for the whole log, or empty for from now on");
        }

        id = parsed;
        return null;
    }

    // The display name and description of an object (CreateResource, UpdateResource).
    private static FieldViolation? Metadata(string name, string description, string prefix = "")
    {
        if (name.Length > MaxNameLength)
        {
            return Violation($"{prefix}name", $"is {name.Length} characters long; the limit is {MaxNameLength}");
        }

        return description.Length > MaxDescriptionLength
            ? Violation($"{prefix}description", $"is {description.Length} characters long; the limit is {MaxDescriptionLength}")
            : null;
    }

    /// <summary>The longest email address accepted.</summary>
    public const int MaxEmailLength = 254;

    /// <summary>The longest invitation lifetime, in hours (30 days).</summary>
    public const int MaxInvitationHours = 30 * 24;

    /// <summary>The invitation lifetime when none is given, in hours (7 days).</summary>
    public const int DefaultInvitationHours = 7 * 24;

    /// <summary>
    /// The addresses of an invitation request, each item possibly a comma-separated list: trimmed, lowercased,
    /// duplicates collapsed, in order. All-or-nothing: the first malformed address is the violation.
    /// </summary>
    public static FieldViolation? Emails(IReadOnlyList<string> values, string field, out IReadOnlyList<string> emails)
    {
        var result = new List<string>();
        emails = result;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < values.Count; i++)
        {
            foreach (var part in values[i].Split(','))
            {
                var email = part.Trim();
                if (email.Length == 0 && values[i].Contains(',', StringComparison.Ordinal))
                {
                    return Violation($"{field}[{i}]", "has an empty item in its comma-separated list");
                }

                if (email.Length > MaxEmailLength)
                {
                    return Violation($"{field}[{i}]", $"has an address of {email.Length} characters; the limit is {MaxEmailLength}");
                }

                if (!IsEmail(email))
                {
                    return Violation($"{field}[{i}]", $"'{Truncate(email)}' is not an email address like name@example.com (nothing was created)");
                }

                if (seen.Add(email.ToLowerInvariant()))
                {
                    result.Add(email.ToLowerInvariant());
                }
            }
        }

        if (result.Count == 0)
        {
            return Violation(field, "is required: at least one email address, e.g. name@example.com");
        }

        return result.Count > MaxListItems ? Violation(field, $"has {result.Count} addresses; the limit is {MaxListItems}") : null;
    }

    /// <summary>An optional single email address (empty: none), lowercased into <paramref name="email"/>.</summary>
    public static FieldViolation? OptionalEmail(string value, string field, out string? email)
    {
        email = value.Length == 0 ? null : value.ToLowerInvariant();
        if (value.Length > MaxEmailLength)
        {
            return Violation(field, $"has {value.Length} characters; the limit is {MaxEmailLength}");
        }

        return value.Length == 0 || IsEmail(value) ? null : Violation(field, $"'{Truncate(value)}' is not an email address like name@example.com");
    }

    /// <summary>An invitation lifetime in hours: 0 (the default) up to <see cref="MaxInvitationHours"/>.</summary>
    public static FieldViolation? InvitationHours(int value, string field) => value is < 0 or > MaxInvitationHours
        ? Violation(field, $"must be between 1 and {MaxInvitationHours} hours (0 means {DefaultInvitationHours})")
        : null;

    /// <summary>A required invitation id.</summary>
    public static FieldViolation? InvitationId(string value, string field) =>
        value.Length == 0 ? Violation(field, "is required: an invitation id from InviteMembers or ListInvitations")
        : IsIssuedText(value, 64) ? null
        : Violation(field, $"'{Truncate(value)}' is not an invitation id");

    /// <summary>A required invitation token.</summary>
    public static FieldViolation? InvitationToken(string value, string field) =>
        value.Length == 0 ? Violation(field, "is required: the token from the invitation")
        : IsIssuedText(value, 128) ? null
        : Violation(field, "is not an invitation token");

    // Invitation ids and tokens are issued by the server from letters, digits, '_' and '-' up to a known length, so
    // anything else was never issued and is refused before a lookup.
    private static bool IsIssuedText(string value, int maxLength) =>
        value.Length <= maxLength && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    // local@domain.tld: no spaces, one @, a dot in the domain with something on both sides.
    private static bool IsEmail(string value)
    {
        var at = value.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != value.LastIndexOf('@') || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is ',' or '<' or '>' or '"'))
        {
            return false;
        }

        var domain = value[(at + 1)..];
        var dot = domain.LastIndexOf('.');
        return dot > 0 && dot < domain.Length - 1 && !domain.StartsWith('.') && !domain.Contains("..", StringComparison.Ordinal);
    }
}
