namespace AuthzGrpc.Core.Model;

/// <summary>An object: <c>type:id</c>.</summary>
public readonly record struct ObjectRef(string Type, string Id)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Type}:{Id}";

    /// <summary>Parses <c>type:id</c>; throws <see cref="FormatException"/> when malformed.</summary>
    public static ObjectRef Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new FormatException($"'{text}' is not an object: expected 'type:id'");
        }

        var result = new ObjectRef(text[..colon], text[(colon + 1)..]);
        Identifiers.ValidateType(result.Type, text);
        Identifiers.ValidateId(result.Id, text, allowWildcard: false);
        return result;
    }
}

/// <summary>
/// A subject: an object (<c>user:alice</c>), a subject set (<c>group:eng#member</c>: every member of it), or a
/// wildcard (<c>user:*</c>, in stored relationships only).
/// </summary>
public readonly record struct SubjectRef(string Type, string Id, string? Relation = null)
{
    /// <summary>True for <c>type:*</c>.</summary>
    public bool IsWildcard => Id == Identifiers.Wildcard;

    /// <summary>True for <c>type:id#relation</c>.</summary>
    public bool IsSubjectSet => !string.IsNullOrEmpty(Relation);

    /// <summary>The object part.</summary>
    public ObjectRef Object => new(Type, Id);

    /// <inheritdoc/>
    public override string ToString() => IsSubjectSet ? $"{Type}:{Id}#{Relation}" : $"{Type}:{Id}";

    /// <summary>Parses <c>type:id</c>, <c>type:id#relation</c> or <c>type:*</c>.</summary>
    public static SubjectRef Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        var objectText = hash < 0 ? text : text[..hash];
        var relation = hash < 0 ? null : text[(hash + 1)..];
        var colon = objectText.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == objectText.Length - 1)
        {
            throw new FormatException($"'{text}' is not a subject: expected 'type:id' or 'type:id#relation'");
        }

        var type = objectText[..colon];
        var id = objectText[(colon + 1)..];
        Identifiers.ValidateType(type, text);
        Identifiers.ValidateId(id, text, allowWildcard: relation is null);
        if (relation is not null)
        {
            Identifiers.ValidateName(relation, text);
        }

        return new SubjectRef(type, id, relation);
    }
}

/// <summary>
/// A stored fact: <c>resource#relation@subject</c>, optionally expiring at <see cref="ExpiresAt"/> (SpiceDB's expiring
/// relationships) and optionally holding only under a <see cref="Caveat"/>. Expiry and caveat are attributes, not part
/// of the identity: two relationships that differ only in them are equal, as a delete or a touch addresses the one
/// stored fact whatever they are.
/// </summary>
public readonly record struct Relationship(ObjectRef Resource, string Relation, SubjectRef Subject)
{
    private const string ExpirationPrefix = "[expiration:";

    /// <summary>When the relationship stops existing (UTC), or null for never. From that instant on it grants nothing.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The caveat it holds under (SpiceDB's caveated relationships), with the context it was written with; null for none.</summary>
    public RelationshipCaveat? Caveat { get; init; }

    /// <summary>Whether it has expired at <paramref name="now"/> (an expiry at exactly <paramref name="now"/> has).</summary>
    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt <= now;

    /// <inheritdoc/>
    public bool Equals(Relationship other) =>
        Resource == other.Resource && string.Equals(Relation, other.Relation, StringComparison.Ordinal) && Subject == other.Subject;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Resource, Relation, Subject);

    /// <summary>
    /// <c>resource#relation@subject</c>, with SpiceDB's suffixes: <c>[name:{"param":1}]</c> for a caveat (its context
    /// as canonical JSON, left out when empty), then <c>[expiration:2026-12-31T00:00:00Z]</c> when it expires.
    /// </summary>
    public override string ToString() => $"{Resource}#{Relation}@{Subject}{Caveat}{ExpirationSuffix(ExpiresAt)}";

    /// <summary>The text form's suffix for <paramref name="expiresAt"/>: <c>[expiration:2026-12-31T00:00:00Z]</c>, or empty for none.</summary>
    public static string ExpirationSuffix(DateTimeOffset? expiresAt) => expiresAt is { } at
        ? $"{ExpirationPrefix}{at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture)}]"
        : string.Empty;

    /// <summary>
    /// Parses <c>type:id#relation@subject</c>, optionally followed by a caveat <c>[name]</c> or <c>[name:{JSON context}]</c>
    /// and by <c>[expiration:RFC 3339 time]</c>.
    /// </summary>
    public static Relationship Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        DateTimeOffset? expiresAt = null;
        var trait = text.IndexOf(ExpirationPrefix, StringComparison.Ordinal);
        if (trait >= 0)
        {
            if (!text.EndsWith(']') || !DateTimeOffset.TryParse(
                    text.AsSpan(trait + ExpirationPrefix.Length, text.Length - trait - ExpirationPrefix.Length - 1),
                    System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
            {
                throw new FormatException($"'{text}': the expiration is not an RFC 3339 time (as in '[expiration:2026-12-31T00:00:00Z]')");
            }

            expiresAt = parsed.ToUniversalTime();
            text = text[..trait];
        }

        // Ids and names hold no brackets, so the caveat's starts at the first one after the subject's '@'.
        RelationshipCaveat? caveat = null;
        var caveatStart = text.IndexOf('[', Math.Max(text.IndexOf('@', StringComparison.Ordinal), 0));
        if (caveatStart >= 0)
        {
            caveat = RelationshipCaveat.Parse(text[caveatStart..]);
            text = text[..caveatStart];
        }

        var hash = text.IndexOf('#', StringComparison.Ordinal);
        var at = hash < 0 ? -1 : text.IndexOf('@', hash);
        if (hash < 0 || at < 0)
        {
            throw new FormatException($"'{text}' is not a relationship: expected 'type:id#relation@subject'");
        }

        var relation = text[(hash + 1)..at];
        Identifiers.ValidateName(relation, text);
        return new Relationship(ObjectRef.Parse(text[..hash]), relation, SubjectRef.Parse(text[(at + 1)..])) { ExpiresAt = expiresAt, Caveat = caveat };
    }
}

/// <summary>The shapes of type names, member names and object ids.</summary>
public static class Identifiers
{
    /// <summary>The id that means "every object of the type".</summary>
    public const string Wildcard = "*";

    /// <summary>Longest object id accepted: SpiceDB's limit, so its ids move here unchanged.</summary>
    public const int MaxIdLength = 1024;

    /// <summary>Whether <paramref name="id"/> is a valid object id: 1 to 1,024 of <c>A-Z a-z 0-9 _ - . / | = +</c>.</summary>
    public static bool IsValidId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or '|' or '=' or '+'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="name"/> is a valid member name (lowercase, digits, '_').</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 64 || !char.IsAsciiLetterLower(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="type"/> is a valid type name (a name, optionally prefixed <c>prefix/</c>).</summary>
    public static bool IsValidType(string? type)
    {
        if (string.IsNullOrEmpty(type))
        {
            return false;
        }

        var slash = type.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? IsValidName(type) : IsValidName(type[..slash]) && IsValidName(type[(slash + 1)..]);
    }

    internal static void ValidateType(string type, string whole)
    {
        if (!IsValidType(type))
        {
            throw new FormatException($"'{whole}': '{type}' is not a valid type name (lowercase letters, digits and '_')");
        }
    }

    internal static void ValidateName(string name, string whole)
    {
        if (!IsValidName(name))
        {
            throw new FormatException($"'{whole}': '{name}' is not a valid relation or permission name (lowercase letters, digits and '_')");
        }
    }

    internal static void ValidateId(string id, string whole, bool allowWildcard)
    {
        if (allowWildcard && id == Wildcard)
        {
            return;
        }

        if (!IsValidId(id))
        {
            throw new FormatException($"'{whole}': object id '{Truncate(id)}' is not valid: use 1 to {MaxIdLength} of A-Z a-z 0-9 _ - . / | = +");
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
