using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Cli;

/// <summary>
/// A role as <c>-r</c> names it, before the object it is on is known. Three forms:
/// <list type="bullet">
/// <item><c>admin</c>: a relation of the object the command is about (<c>--on</c>);</item>
/// <item><c>environment_type:storefront_development#contributor</c>: a relation of the object named in full;</item>
/// <item><c>development:contributor</c>: a relation of the object related to <c>--on</c> (see <see cref="RelatedObjects"/>)
/// whose id is <c>development</c> or ends with <c>_development</c> or <c>-development</c>.</item>
/// </list>
/// </summary>
/// <param name="Relation">The role: a relation of the object's type.</param>
/// <param name="Object">The object named in full; null for the other forms.</param>
/// <param name="RelatedName">The name of the related object in the short form; null for the other forms.</param>
internal sealed record RoleArgument(string Relation, ObjectRef? Object = null, string? RelatedName = null)
{
    /// <summary>Parses every <c>-r</c> value; a value may be a comma list (<c>-r production:viewer,development:contributor</c>).</summary>
    public static IReadOnlyList<RoleArgument> ParseAll(IEnumerable<string> values) =>
        [.. values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Select(Parse)];

    /// <summary>Parses one role; throws <see cref="FormatException"/> naming the value when it is malformed.</summary>
    public static RoleArgument Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            return new RoleArgument(RelationName(text[(hash + 1)..], text), Object: ObjectRef.Parse(text[..hash]));
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return new RoleArgument(RelationName(text, text));
        }

        var name = text[..colon];
        if (!Identifiers.IsValidId(name))
        {
            throw new FormatException($"role '{text}': '{name}' is not an object name; write 'role', 'name:role' or 'type:id#role'");
        }

        return new RoleArgument(RelationName(text[(colon + 1)..], text), RelatedName: name);
    }

    /// <inheritdoc/>
    public override string ToString() => Object is { } named ? $"{named}#{Relation}" : RelatedName is { } name ? $"{name}:{Relation}" : Relation;

    private static string RelationName(string relation, string whole) => Identifiers.IsValidName(relation)
        ? relation
        : throw new FormatException($"role '{whole}': '{relation}' is not a role name (lowercase letters, digits and '_'); write 'role', 'name:role' or 'type:id#role'");
}
