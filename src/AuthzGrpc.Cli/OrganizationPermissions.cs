using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Cli;

/// <summary>
/// The organization permissions of <c>--permission</c> are the model's flag relations: a permission <c>name</c> is the
/// relation <c>flag_name</c> with <c>:</c> written <c>_</c> (<c>billing</c> is <c>flag_billing</c>,
/// <c>projects:create</c> is <c>flag_projects_create</c>), and every relation starting with <c>flag_</c> is one of them.
/// Nothing else is assumed about the model: the server says when a flag does not exist.
/// </summary>
internal static class OrganizationPermissions
{
    /// <summary>What every flag relation's name starts with.</summary>
    public const string FlagPrefix = "flag_";

    /// <summary>Parses every <c>--permission</c> value (each may be a comma list) into flag relations, without duplicates.</summary>
    public static IReadOnlyList<string> ParseAll(IEnumerable<string> values) =>
        [.. values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Select(ToRelation).Distinct()];

    /// <summary>The flag relation of a permission name: <c>projects:create</c> → <c>flag_projects_create</c>.</summary>
    public static string ToRelation(string permission)
    {
        ArgumentNullException.ThrowIfNull(permission);
        var relation = FlagPrefix + permission.Replace(':', '_');
        return Identifiers.IsValidName(relation)
            ? relation
            : throw new FormatException($"--permission '{permission}' is not a permission name (lowercase letters, digits, '_' and ':', e.g. billing or projects:create)");
    }

    /// <summary>Whether a relation is a flag (its name starts with <c>flag_</c>).</summary>
    public static bool IsFlag(string relation) => relation.StartsWith(FlagPrefix, StringComparison.Ordinal) && relation.Length > FlagPrefix.Length;
}
