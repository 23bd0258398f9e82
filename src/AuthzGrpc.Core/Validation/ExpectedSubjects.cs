using System.Text.RegularExpressions;

namespace AuthzGrpc.Core.Validation;

/// <summary>
/// One entry of a SpiceDB validation file's <c>validation</c> block: for <c>document:doc#view</c>, the whole list of
/// subjects it reaches, each as <c>[user:tom] is &lt;document:doc#writer&gt;/&lt;document:doc#reader&gt;</c> — the
/// subject, and every stored relation it was found in. A wildcard may name what it excludes:
/// <c>[user:* - {user:bob}]</c>. <see cref="Verify"/> compares the list with <see cref="SubjectExpansion"/>, as
/// SpiceDB's <c>zed validate</c> does: each listed subject must be found through exactly the relations listed, and
/// every subject found must be listed.
/// </summary>
/// <param name="Resource">The object expanded.</param>
/// <param name="Name">Its permission or relation.</param>
/// <param name="Position">Where the entry's key stands in the file.</param>
/// <param name="Subjects">The subjects listed, in file order.</param>
public sealed partial record ExpectedSubjects(ObjectRef Resource, string Name, SourcePosition Position, IReadOnlyList<ExpectedSubjects.Expected> Subjects)
{
    /// <summary>
    /// Parses the key (<c>type:id#name</c>) and its listed subjects; throws <see cref="FormatException"/> naming the line
    /// and column of what is malformed.
    /// </summary>
    public static ExpectedSubjects Parse(string key, SourcePosition position, IEnumerable<(string Text, SourcePosition Position)> entries)
    {
        ArgumentNullException.ThrowIfNull(key);
        Relationship target;
        try
        {
            // type:id#name parses as a relationship's left side; a placeholder subject completes it.
            target = Relationship.Parse(key.Trim() + "@validation:key");
        }
        catch (FormatException e)
        {
            throw new FormatException($"validation, {At(position)}: '{key}' is not type:id#permission ({e.Message})", e);
        }

        return new ExpectedSubjects(target.Resource, target.Relation, position, [.. entries.Select(entry => ParseEntry(entry.Text, entry.Position))]);
    }

    /// <summary>Every difference between the list and what <paramref name="expansion"/> finds, each with its line and column.</summary>
    public IReadOnlyList<string> Verify(SubjectExpansion expansion)
    {
        ArgumentNullException.ThrowIfNull(expansion);
        var key = $"{Resource}#{Name}";
        IReadOnlyList<FoundSubject> found;
        try
        {
            found = expansion.Expand(Resource, Name);
        }
        catch (FormatException e)
        {
            return [$"validation, {At(Position)}: {e.Message}"];
        }

        var failures = new List<string>();
        var bySubject = found.ToDictionary(f => f.Subject);
        foreach (var expected in Subjects)
        {
            if (!bySubject.TryGetValue(expected.Subject, out var match))
            {
                failures.Add($"validation, {At(expected.Position)}: for {key}, expected subject {expected.Subject} is not found");
                continue;
            }

            if (!match.Relationships.SetEquals(expected.Relationships))
            {
                failures.Add($"validation, {At(expected.Position)}: for {key}, subject {expected.Subject} is found through {Relations(match.Relationships)}, not {Relations(expected.Relationships)}");
            }

            if (!match.Excluded.SetEquals(expected.Excluded))
            {
                failures.Add($"validation, {At(expected.Position)}: for {key}, subject {expected.Subject} is found as [{match.ToValidationString()}], not with the exclusions listed");
            }
        }

        var listed = Subjects.Select(s => s.Subject).ToHashSet();
        foreach (var extra in found.Where(f => !listed.Contains(f.Subject)).OrderBy(f => f.Subject.ToString(), StringComparer.Ordinal))
        {
            failures.Add($"validation, {At(Position)}: for {key}, subject [{extra.ToValidationString()}] is found (through {Relations(extra.Relationships)}) but not listed");
        }

        return failures;
    }

    private static Expected ParseEntry(string text, SourcePosition position)
    {
        var match = EntryPattern().Match(text.Trim());
        if (!match.Success)
        {
            throw new FormatException($"validation, {At(position)}: '{text}' is not '[subject] is <type:id#relation>/…'");
        }

        try
        {
            var subjectText = match.Groups["subject"].Value.Trim();
            if (subjectText.EndsWith("[...]", StringComparison.Ordinal))
            {
                throw new FormatException("a caveated subject ('[...]') cannot be expected: expected subjects are not checked under a schema with caveats yet");
            }

            var subject = SubjectRef.Parse(subjectText);
            var excluded = match.Groups["excluded"].Success
                ? match.Groups["excluded"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(SubjectRef.Parse).ToHashSet()
                : [];
            if (excluded.Count > 0 && !subject.IsWildcard)
            {
                throw new FormatException($"only a wildcard excludes subjects, not {subject}");
            }

            var relationships = RelationPattern().Matches(match.Groups["relations"].Value).Select(r => Checked(r.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);
            return new Expected(subject, excluded, relationships, position);
        }
        catch (FormatException e)
        {
            throw new FormatException($"validation, {At(position)}: '{text}': {e.Message}", e);
        }
    }

    // A relation a subject was found in, written type:id#relation.
    private static string Checked(string relation)
    {
        var parsed = Relationship.Parse(relation.Trim() + "@validation:key");
        return $"{parsed.Resource}#{parsed.Relation}";
    }

    private static string Relations(IEnumerable<string> relations) =>
        string.Join('/', relations.Order(StringComparer.Ordinal).Select(r => $"<{r}>"));

    private static string At(SourcePosition position) => $"line {position.Line}, column {position.Column}";

    [GeneratedRegex(@"^\[(?<subject>[^\s\[\]]+(?:\[\.\.\.\])?)(?:\s+-\s+\{(?<excluded>[^}]*)\})?\]\s*(?:is\s+(?<relations>.*))?$")]
    private static partial Regex EntryPattern();

    [GeneratedRegex("<([^>]+)>")]
    private static partial Regex RelationPattern();

    /// <summary>A listed subject: who, what its wildcard excludes, the relations it is found in, and where it is written.</summary>
    public sealed record Expected(SubjectRef Subject, IReadOnlySet<SubjectRef> Excluded, IReadOnlySet<string> Relationships, SourcePosition Position);
}
