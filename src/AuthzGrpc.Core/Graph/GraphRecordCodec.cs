using System.Globalization;
using System.Text;

namespace AuthzGrpc.Core.Graph;

/// <summary>What the model holds about one object, by name: the form a record is computed and stored in.</summary>
public sealed class RecordContent(string type, string id, long revision)
{
    /// <summary>The object's type name.</summary>
    public string Type { get; } = type;

    /// <summary>The object id, or <c>*</c> for a wildcard record.</summary>
    public string Id { get; } = id;

    /// <summary>The model revision it was computed at.</summary>
    public long Revision { get; } = revision;

    /// <summary>Ancestors as <c>type:id</c>.</summary>
    public List<string> Ancestors { get; } = [];

    /// <summary>The subject sets the object is in, transitively, as <c>type:id#relation</c>.</summary>
    public List<string> Reach { get; } = [];

    /// <summary>Per member name of the object's own subject sets: the subject sets that set is in.</summary>
    public SortedDictionary<string, List<string>> SubjectSetReach { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Per relation name: the stored subjects as written (<c>user:alice</c>, <c>group:eng#member</c>, <c>user:*</c>), an
    /// expiring one followed by <c>!</c> and its expiry (<see cref="GraphRecordCodec.WithExpiry"/>).
    /// </summary>
    public SortedDictionary<string, List<string>> Relations { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether there is nothing to store: a missing record means the same.</summary>
    public bool IsEmpty => Ancestors.Count == 0 && Reach.Count == 0 && SubjectSetReach.Count == 0 && Relations.Count == 0;
}

/// <summary>
/// The stored form of a record: UTF-8 lines, readable with <c>redis-cli GET</c>. Identifiers never contain spaces or
/// newlines, so tokens need no escaping.
/// <code>
/// v1 42             format and revision
/// ^ org:acme        ancestors
/// ~ team:a#member   the object's closure
/// ~member org:acme#member            the closure of object#member
/// @viewer user:alice group:eng#member user:*   a relation's subjects
/// @viewer user:bob!2026-12-31T00:00:00.0000000Z  an expiring one, with its expiry (UTC)
/// </code>
/// Decoding resolves every name against the schema: a record written for another schema fails to decode
/// (<see cref="FormatException"/>) instead of being misread.
/// </summary>
public static class GraphRecordCodec
{
    private const string Version = "v1";

    // Between a subject and its expiry: not a character of ids, names or times.
    private const char ExpirySeparator = '!';

    private const string ExpiryFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>A subject as a record stores it: <paramref name="subject"/>, then <c>!</c> and the expiry when it has one.</summary>
    public static string WithExpiry(string subject, DateTimeOffset? expiresAt) =>
        expiresAt is { } at ? subject + ExpirySeparator + at.UtcDateTime.ToString(ExpiryFormat, CultureInfo.InvariantCulture) : subject;

    /// <summary>Encodes <paramref name="content"/>.</summary>
    public static byte[] Encode(RecordContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var text = new StringBuilder();
        text.Append(Version).Append(' ').Append(content.Revision.ToString(CultureInfo.InvariantCulture)).Append('\n');
        AppendLine(text, "^", content.Ancestors);
        AppendLine(text, "~", content.Reach);
        foreach (var (member, reach) in content.SubjectSetReach)
        {
            AppendLine(text, "~" + member, reach);
        }

        foreach (var (relation, subjects) in content.Relations)
        {
            AppendLine(text, "@" + relation, subjects);
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// Decodes the record of <paramref name="type"/>:<paramref name="id"/>. Throws <see cref="FormatException"/> when the
    /// bytes are not a record of this schema.
    /// </summary>
    public static GraphRecord Decode(TypeDefinition type, string id, ReadOnlySpan<byte> bytes, CompiledSchema schema)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(schema);
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || !lines[0].StartsWith(Version + " ", StringComparison.Ordinal) ||
            !long.TryParse(lines[0].AsSpan(Version.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var revision))
        {
            throw new FormatException($"{type.Name}:{id}: not a graph record");
        }

        var relations = new RecordRelation?[type.Members.Count];
        var setReach = new HashSet<string>?[type.Members.Count];
        var ancestors = Array.Empty<RecordKey>();
        var reach = new HashSet<string>(StringComparer.Ordinal);
        var weight = 0;
        foreach (var line in lines.AsSpan(1))
        {
            var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var head = tokens[0];
            var values = tokens.AsSpan(1);
            weight += values.Length;
            if (head == "^")
            {
                ancestors = ParseAncestors(values, schema);
            }
            else if (head == "~")
            {
                reach.UnionWith(values.ToArray());
            }
            else if (head[0] == '~')
            {
                setReach[Member(type, head[1..]).Index] = new HashSet<string>(values.ToArray(), StringComparer.Ordinal);
            }
            else if (head[0] == '@' && Member(type, head[1..]) is RelationDefinition relation)
            {
                relations[relation.Index] = ParseRelation(values, schema);
            }
            else
            {
                throw new FormatException($"{type.Name}:{id}: unexpected line '{head}'");
            }
        }

        return new GraphRecord(type, id, revision, relations, ancestors, reach, setReach, weight);
    }

    private static void AppendLine(StringBuilder text, string head, List<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        text.Append(head);
        foreach (var value in values)
        {
            text.Append(' ').Append(value);
        }

        text.Append('\n');
    }

    private static RecordKey[] ParseAncestors(ReadOnlySpan<string> values, CompiledSchema schema)
    {
        var keys = new RecordKey[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var subject = ParseSubject(values[i], schema);
            keys[i] = new RecordKey(subject.Type.Index, subject.Id);
        }

        return keys;
    }

    private static RecordRelation ParseRelation(ReadOnlySpan<string> values, CompiledSchema schema)
    {
        var subjects = new RecordSubject[values.Length];
        var keys = new HashSet<string>(values.Length, StringComparer.Ordinal);
        List<RecordSubject>? indexed = null;
        List<RecordSubject>? computed = null;
        Dictionary<string, long>? expiring = null;
        for (var i = 0; i < values.Length; i++)
        {
            var subject = subjects[i] = ParseStoredSubject(values[i], schema);
            keys.Add(subject.Key);
            if (subject.ExpiresAt is { } expiresAt)
            {
                (expiring ??= new(StringComparer.Ordinal))[subject.Key] = expiresAt;
            }

            // As in the engine: an expiring subject set is evaluated, never matched through the precomputed closure.
            if (subject.Member is RelationDefinition { IsMembershipIndexed: true } && subject.ExpiresAt is null)
            {
                (indexed ??= []).Add(subject);
            }
            else if (subject.Member is not null)
            {
                (computed ??= []).Add(subject);
            }
        }

        return new RecordRelation(subjects, keys, indexed?.ToArray() ?? [], computed?.ToArray() ?? [], expiring);
    }

    private static RecordSubject ParseStoredSubject(string text, CompiledSchema schema)
    {
        var separator = text.IndexOf(ExpirySeparator, StringComparison.Ordinal);
        if (separator < 0)
        {
            return ParseSubject(text, schema);
        }

        if (!DateTime.TryParseExact(text.AsSpan(separator + 1), ExpiryFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var expiresAt))
        {
            throw new FormatException($"'{text}': the expiry is not a time");
        }

        return ParseSubject(text[..separator], schema) with { ExpiresAt = expiresAt.Ticks };
    }

    private static RecordSubject ParseSubject(string text, CompiledSchema schema)
    {
        SubjectRef subject;
        try
        {
            subject = SubjectRef.Parse(text);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"'{text}' is not a subject", e);
        }

        if (!schema.TryGetType(subject.Type, out var type))
        {
            throw new FormatException($"'{text}': type '{subject.Type}' is not in the schema");
        }

        var member = subject.Relation is { Length: > 0 } relation ? Member(type, relation) : null;
        return new RecordSubject(type, subject.Id, member, text);
    }

    private static MemberDefinition Member(TypeDefinition type, string name) =>
        type.TryGetMember(name, out var member) ? member : throw new FormatException($"'{name}' is not a member of '{type.Name}'");
}
