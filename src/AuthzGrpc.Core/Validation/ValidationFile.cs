using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Management;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace AuthzGrpc.Core.Validation;

/// <summary>
/// A model's test data in the format of SpiceDB's validation files: a schema (inline or a file beside this one),
/// relationships one per line, and the checks that must be allowed (<c>assertTrue</c>) and denied (<c>assertFalse</c>).
/// See docs/MODELS.md for the format.
/// </summary>
public sealed class ValidationFile
{
    private ValidationFile(
        string schemaText, IReadOnlyList<Relationship> relationships, IReadOnlyList<Assertion> assertions, IReadOnlyList<ExpectedSubjects> expected, IReadOnlyList<ManagementCase> management)
    {
        SchemaText = schemaText;
        Relationships = relationships;
        Assertions = assertions;
        Expected = expected;
        Management = management;
    }

    /// <summary>The schema text.</summary>
    public string SchemaText { get; }

    /// <summary>The relationships to load.</summary>
    public IReadOnlyList<Relationship> Relationships { get; }

    /// <summary>Every assertion, in file order.</summary>
    public IReadOnlyList<Assertion> Assertions { get; }

    /// <summary>The <c>validation</c> block: for each permission or relation of an object, every subject it reaches and through what.</summary>
    public IReadOnlyList<ExpectedSubjects> Expected { get; }

    /// <summary>The management cases, each run on its own copy of the relationships.</summary>
    public IReadOnlyList<ManagementCase> Management { get; }

    /// <summary>
    /// Parses a validation file. <paramref name="readSchemaFile"/> reads a <c>schemaFile</c> path (relative to the
    /// validation file; the caller resolves it). Throws <see cref="FormatException"/> naming what is wrong.
    /// </summary>
    public static ValidationFile Parse(string yaml, Func<string, string> readSchemaFile)
    {
        ArgumentNullException.ThrowIfNull(readSchemaFile);
        Document document;
        try
        {
            document = new DeserializerBuilder()
                .WithNamingConvention(CamelCaseNamingConvention.Instance)
                .Build()
                .Deserialize<Document?>(yaml) ?? new Document();
        }
        catch (YamlException e)
        {
            throw new FormatException($"line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }

        if ((document.Schema is null) == (document.SchemaFile is null))
        {
            throw new FormatException("give exactly one of 'schema' (the text) and 'schemaFile' (a path)");
        }

        var schemaText = document.Schema ?? readSchemaFile(document.SchemaFile!);
        var relationships = new List<Relationship>();
        var lines = (document.Relationships ?? string.Empty).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                relationships.Add(Relationship.Parse(line));
            }
            catch (FormatException e)
            {
                throw new FormatException($"relationships, line {i + 1}: {e.Message}", e);
            }
        }

        var assertions = new List<Assertion>();
        AddAssertions(document.Assertions?.AssertTrue, Permissionship.Allowed, assertions);
        AddAssertions(document.Assertions?.AssertFalse, Permissionship.Denied, assertions);
        AddAssertions(document.Assertions?.AssertCaveated, Permissionship.Conditional, assertions);
        var management = (document.Management ?? []).Select((c, i) => ParseCase(c, i)).ToList();
        var expected = document.Validation is null ? [] : ParseExpected(yaml);
        return new ValidationFile(schemaText, relationships, assertions, expected, management);
    }

    /// <summary>
    /// A schema file on its own (<c>.zed</c>): a file with nothing to assert, so validating it compiles the schema and
    /// reports its errors with line and column.
    /// </summary>
    public static ValidationFile ForSchema(string schemaText) => new(schemaText, [], [], [], []);

    /// <summary>Reads and parses a validation file from disk, resolving <c>schemaFile</c> beside it.</summary>
    public static ValidationFile Load(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Parse(File.ReadAllText(path), schemaFile => File.ReadAllText(Path.Combine(directory, schemaFile)));
    }

    /// <summary>
    /// Compiles the schema, loads the relationships into a new engine and evaluates every assertion.
    /// Returns the assertions that did not hold (an empty list means the model passes).
    /// </summary>
    public IReadOnlyList<AssertionFailure> Run()
    {
        var schema = CompiledSchema.Compile(SchemaText);
        using var engine = new PermissionEngine(schema);
        engine.Add(Relationships);
        var failures = new List<AssertionFailure>();
        foreach (var assertion in Assertions)
        {
            try
            {
                var actual = assertion.Decide(engine);
                if (actual.Permissionship != assertion.Answer)
                {
                    failures.Add(new AssertionFailure(assertion, engine.Explain(assertion.Resource, assertion.Permission, assertion.Subject, assertion.Context).ToString()));
                }
            }
            catch (AuthzException e)
            {
                failures.Add(new AssertionFailure(assertion, e.Message));
            }
        }

        return failures;
    }

    /// <summary>
    /// Compiles the schema and compares every entry of the <c>validation</c> block with what the relationships reach;
    /// returns the differences, each with its line and column.
    /// </summary>
    public IReadOnlyList<string> RunExpected()
    {
        var expansion = new SubjectExpansion(CompiledSchema.Compile(SchemaText).Syntax, Relationships);
        return [.. Expected.SelectMany(e => e.Verify(expansion))];
    }

    /// <summary>Runs every management case, each on a fresh engine loaded with the file's relationships; returns what went wrong.</summary>
    public IReadOnlyList<string> RunManagement()
    {
        var schema = CompiledSchema.Compile(SchemaText);
        var failures = new List<string>();
        foreach (var managementCase in Management)
        {
            using var engine = new PermissionEngine(schema);
            engine.Add(Relationships);
            if (managementCase.Run(engine) is { } failure)
            {
                failures.Add(failure);
            }
        }

        return failures;
    }

    // The validation block read again as YAML nodes, for the line and column of each key and subject.
    private static List<ExpectedSubjects> ParseExpected(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        if (root.Children[new YamlScalarNode("validation")] is not YamlMappingNode block)
        {
            throw new FormatException("validation: expected a mapping of type:id#permission to lists of '[subject] is <type:id#relation>'");
        }

        return [.. block.Children.Select(entry =>
        {
            var key = (YamlScalarNode)entry.Key;
            var subjects = entry.Value as YamlSequenceNode
                ?? throw new FormatException($"validation, line {key.Start.Line}, column {key.Start.Column}: '{key.Value}' needs a list of '[subject] is <type:id#relation>'");
            return ExpectedSubjects.Parse(key.Value ?? string.Empty, Position(key.Start), subjects.Children.Select(s => (s is YamlScalarNode scalar ? scalar.Value ?? string.Empty : s.ToString(), Position(s.Start))));
        })];
    }

    private static SourcePosition Position(Mark mark) => new((int)mark.Line, (int)mark.Column);

    private static ManagementCase ParseCase(CaseDocument document, int index)
    {
        var name = document.Name ?? $"#{index + 1}";
        try
        {
            var operations = new List<ManagementOperation?>
            {
                document.Grant is null ? null : new GrantOperation(Relationship.Parse(document.Grant)),
                document.Revoke is null ? null : new RevokeOperation(Relationship.Parse(document.Revoke)),
                document.Transfer is null ? null : new TransferOperation(Relationship.Parse(document.Transfer)),
                document.Leave is null ? null : new LeaveOperation(ObjectRef.Parse(document.Leave)),
                document.SetRoles is null ? null : new SetRolesOperation(ObjectRef.Parse(Required(document.SetRoles.Resource, "resource")), SubjectRef.Parse(Required(document.SetRoles.Subject, "subject")), document.SetRoles.Relations ?? []),
                document.RemoveMember is null ? null : new RemoveMemberOperation(ObjectRef.Parse(Required(document.RemoveMember.Resource, "resource")), SubjectRef.Parse(Required(document.RemoveMember.Subject, "subject"))),
                document.RemoveMembers is null ? null : new RemoveMembersOperation(
                    ObjectRef.Parse(Required(document.RemoveMembers.Resource, "resource")), [.. (document.RemoveMembers.Subjects ?? []).Select(SubjectRef.Parse)]),
                document.Invite is null ? null : new InviteOperation(ObjectRef.Parse(Required(document.Invite.Resource, "resource")), document.Invite.Relations ?? []),
                document.Accept is null ? null : new AcceptOperation(
                    ObjectRef.Parse(Required(document.Accept.Resource, "resource")), document.Accept.Relations ?? [], document.Accept.By is { } by ? SubjectRef.Parse(by) : null),
                document.Create is null ? null : new CreateOperation(
                    ObjectRef.Parse(Required(document.Create.Resource, "resource")), ObjectRef.Parse(Required(document.Create.Parent, "parent")),
                    [.. (document.Create.Attributes ?? []).Select(ParseAttribute)])
                {
                    Children = [.. (document.Create.Children ?? []).Select(c => new ContainedObject(ObjectRef.Parse(Required(c.Resource, "children: resource")), [.. (c.Attributes ?? []).Select(ParseAttribute)]))],
                },
                document.Delete is null ? null : new DeleteOperation(ObjectRef.Parse(document.Delete)),
            }.OfType<ManagementOperation>().ToList();
            if (operations.Count != 1)
            {
                throw new FormatException("give exactly one operation: grant, revoke, setRoles, removeMember, removeMembers, leave, transfer, invite, accept, create or delete");
            }

            var expected = Enum.TryParse<ManagementOutcome>((document.Expect ?? string.Empty).Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var outcome)
                ? outcome
                : throw new FormatException($"expect must be ok, permission_denied, failed_precondition, not_found or invalid_argument, not '{document.Expect}'");
            var then = new List<Assertion>();
            AddAssertions(document.Then?.AssertTrue, Permissionship.Allowed, then);
            AddAssertions(document.Then?.AssertFalse, Permissionship.Denied, then);
            return new ManagementCase(name, SubjectRef.Parse(Required(document.As, "as")), operations[0], expected, then);
        }
        catch (FormatException e)
        {
            throw new FormatException($"management case '{name}': {e.Message}", e);
        }
    }

    // "relation@subject", e.g. "creator@user:alice".
    private static (string Relation, SubjectRef Subject) ParseAttribute(string text)
    {
        var at = text.IndexOf('@', StringComparison.Ordinal);
        return at > 0 ? (text[..at], SubjectRef.Parse(text[(at + 1)..])) : throw new FormatException($"attribute '{text}': expected relation@subject");
    }

    private static string Required(string? value, string field) =>
        value ?? throw new FormatException($"'{field}' is required");

    private static void AddAssertions(List<string>? texts, Permissionship answer, List<Assertion> into)
    {
        foreach (var text in texts ?? [])
        {
            try
            {
                into.Add(Assertion.Parse(text, answer));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{Assertion.KeyOf(answer)}: {e.Message}", e);
            }
        }
    }

    // YamlDotNet fills these by reflection.
#pragma warning disable CA1812
    private sealed class Document
    {
        public string? Schema { get; set; }

        public string? SchemaFile { get; set; }

        public string? Relationships { get; set; }

        public AssertionsDocument? Assertions { get; set; }

        // Read again as nodes, for positions (see ParseExpected).
        public Dictionary<string, object>? Validation { get; set; }

        public List<CaseDocument>? Management { get; set; }
    }

    private sealed class CaseDocument
    {
        public string? Name { get; set; }

        public string? As { get; set; }

        public string? Grant { get; set; }

        public string? Revoke { get; set; }

        public string? Transfer { get; set; }

        public string? Leave { get; set; }

        public TargetDocument? SetRoles { get; set; }

        public TargetDocument? RemoveMember { get; set; }

        public TargetDocument? RemoveMembers { get; set; }

        public TargetDocument? Invite { get; set; }

        public TargetDocument? Accept { get; set; }

        public TargetDocument? Create { get; set; }

        public string? Delete { get; set; }

        public string? Expect { get; set; }

        public AssertionsDocument? Then { get; set; }
    }

    private sealed class TargetDocument
    {
        public string? Resource { get; set; }

        public string? Subject { get; set; }

        public List<string>? Relations { get; set; }

        // removeMembers only: who is removed.
        public List<string>? Subjects { get; set; }

        public string? Parent { get; set; }

        public List<string>? Attributes { get; set; }

        public List<TargetDocument>? Children { get; set; }

        // accept only: who made the invitation.
        public string? By { get; set; }
    }

    private sealed class AssertionsDocument
    {
        public List<string>? AssertTrue { get; set; }

        public List<string>? AssertFalse { get; set; }

        // SpiceDB's assertions of a conditional answer (a caveat lacks context).
        public List<string>? AssertCaveated { get; set; }
    }
#pragma warning restore CA1812
}

/// <summary>
/// One expected decision: <c>resource#permission@subject</c> is allowed (or denied), optionally asked
/// <c>with {"param": value}</c> (a caveat context, as SpiceDB writes it); <see cref="Answer"/> tells an
/// <c>assertCaveated</c> (conditional) from an <c>assertFalse</c>, both of which are not an allow.
/// </summary>
public sealed record Assertion(ObjectRef Resource, string Permission, SubjectRef Subject, bool Expected)
{
    private const string WithContext = " with ";

    /// <summary>The caveat context the check is asked with, or null.</summary>
    public CaveatContext? Context { get; init; }

    /// <summary>The answer asserted: allowed (<c>assertTrue</c>), denied (<c>assertFalse</c>) or conditional (<c>assertCaveated</c>).</summary>
    public Permissionship Answer { get; init; } = Expected ? Permissionship.Allowed : Permissionship.Denied;

    /// <summary>The key that asserts <paramref name="answer"/> in a validation file.</summary>
    public static string KeyOf(Permissionship answer) => answer switch
    {
        Permissionship.Allowed => "assertTrue",
        Permissionship.Denied => "assertFalse",
        _ => "assertCaveated",
    };

    /// <summary>Parses <c>resource#permission@subject</c>, optionally followed by <c> with {JSON context}</c>.</summary>
    public static Assertion Parse(string text, Permissionship answer)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        CaveatContext? context = null;
        var with = text.IndexOf(WithContext, StringComparison.Ordinal);
        if (with >= 0)
        {
            try
            {
                context = CaveatContext.Parse(text[(with + WithContext.Length)..]);
            }
            catch (CaveatException e)
            {
                throw new FormatException($"'{text}': the context after 'with' is not a JSON object: {e.Message}", e);
            }

            text = text[..with].TrimEnd();
        }

        var parsed = Relationship.Parse(text);
        return new Assertion(parsed.Resource, parsed.Relation, parsed.Subject, answer == Permissionship.Allowed) { Context = context, Answer = answer };
    }

    /// <summary>What <paramref name="engine"/> answers the assertion's check.</summary>
    public CheckDecision Decide(PermissionEngine engine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return engine.Decide(Resource.Type, Resource.Id, Permission, Subject.Type, Subject.Id, Subject.Relation, Context, cancellationToken);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{KeyOf(Answer)} {Resource}#{Permission}@{Subject}{(Context is null ? string.Empty : WithContext + Context.ToJson())}";
}

/// <summary>An assertion that did not hold, with the explanation of what the engine decided.</summary>
public sealed record AssertionFailure(Assertion Assertion, string Explanation)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Assertion} failed:\n{Explanation}";
}
