using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AuthzGrpc.Core.Validation;

/// <summary>The part of a model a <see cref="ModelProblem"/> is in; its line and column count within that part.</summary>
public enum ModelPart
{
    /// <summary>The schema text.</summary>
    Schema,

    /// <summary>The relationships, one a line.</summary>
    Relationships,

    /// <summary>The assertions block of a validation file (<c>assertTrue:</c> and <c>assertFalse:</c> lists).</summary>
    Assertions,
}

/// <summary>One thing wrong with a model, at its 1-based line and column within <see cref="Part"/>.</summary>
public sealed record ModelProblem(ModelPart Part, int Line, int Column, string Message);

/// <summary>What validating a model found: its problems (none when it passes) and how much was read.</summary>
public sealed record ModelValidationResult(IReadOnlyList<ModelProblem> Problems, int RelationshipCount, int AssertionCount)
{
    /// <summary>What the schema holds that is accepted but worth fixing (<see cref="CompiledSchema.Warnings"/>).</summary>
    public IReadOnlyList<SchemaWarning> Warnings { get; init; } = [];
}

/// <summary>
/// Validates a model given as the three parts of a validation file — schema, relationships, assertions — without
/// storing anything: every problem is reported at its own line and column (a schema error, a relationship that does not
/// parse or does not fit the schema, an assertion that does not parse or does not hold), not just the first. Work is
/// bounded by the caller's limits: at most <c>maxAssertions</c> evaluations, each within the evaluation budget.
/// </summary>
public static class ModelValidation
{
    /// <summary>
    /// Validates the model. Throws <see cref="AuthzException"/> (InvalidArgument) when there are more than
    /// <paramref name="maxRelationships"/> relationships or <paramref name="maxAssertions"/> assertions.
    /// </summary>
    public static ModelValidationResult Validate(
        string schema, string relationships, string assertions, int evaluationBudget, int maxRelationships, int maxAssertions,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(relationships);
        ArgumentNullException.ThrowIfNull(assertions);
        var problems = new List<ModelProblem>();
        CompiledSchema? compiled = null;
        try
        {
            // Validated as WriteSchema would take it: what SpiceDB refuses at write is a problem.
            compiled = CompiledSchema.CompileForWrite(schema);
        }
        catch (SchemaException e)
        {
            problems.Add(new ModelProblem(ModelPart.Schema, e.Line, e.Column, e.Detail));
        }

        var parsed = ParseRelationships(relationships, problems);
        if (parsed.Count > maxRelationships)
        {
            throw new AuthzException(AuthzErrorKind.InvalidArgument, $"relationships: {parsed.Count} given, at most {maxRelationships} are validated at once");
        }

        var asserted = ParseAssertions(assertions, problems);
        if (asserted.Count > maxAssertions)
        {
            throw new AuthzException(AuthzErrorKind.InvalidArgument, $"assertions: {asserted.Count} given, at most {maxAssertions} are validated at once");
        }

        // Without a schema nothing can be resolved or evaluated: the parse problems are all there is to say.
        if (compiled is not null)
        {
            Evaluate(compiled, parsed, asserted, evaluationBudget, problems, cancellationToken);
        }

        // Parsing and evaluation find a part's problems in two passes: answered in the order of the text.
        return new ModelValidationResult([.. problems.OrderBy(p => p.Part).ThenBy(p => p.Line).ThenBy(p => p.Column)], parsed.Count, asserted.Count)
        {
            Warnings = compiled?.Warnings ?? [],
        };
    }

    private static void Evaluate(
        CompiledSchema schema, List<(int Line, int Column, Relationship Relationship)> relationships,
        List<(int Line, int Column, Assertion Assertion)> assertions, int evaluationBudget, List<ModelProblem> problems,
        CancellationToken cancellationToken)
    {
        using var engine = new PermissionEngine(schema) { EvaluationBudget = evaluationBudget };
        // One at a time against the schema, so each problem names its own line; the ones that fit are then loaded at once.
        var fitting = new List<Relationship>(relationships.Count);
        foreach (var (line, column, relationship) in relationships)
        {
            try
            {
                engine.Validate([new RelationshipUpdate(RelationshipOperation.Touch, relationship)]);
                fitting.Add(relationship);
            }
            catch (AuthzException e)
            {
                problems.Add(new ModelProblem(ModelPart.Relationships, line, column, e.Message));
            }
        }

        engine.Add(fitting);
        foreach (var (line, column, assertion) in assertions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var actual = assertion.Decide(engine, cancellationToken).Permissionship;
                if (actual != assertion.Answer)
                {
                    problems.Add(new ModelProblem(ModelPart.Assertions, line, column,
                        $"{assertion.Resource}#{assertion.Permission}@{assertion.Subject} is {Describe(actual)}, asserted {Describe(assertion.Answer)} ({Assertion.KeyOf(assertion.Answer)})"));
                }
            }
            catch (AuthzException e)
            {
                problems.Add(new ModelProblem(ModelPart.Assertions, line, column, e.Message));
            }
        }
    }

    private static string Describe(Permissionship answer) => answer switch
    {
        Permissionship.Allowed => "allowed",
        Permissionship.Denied => "denied",
        _ => "conditional",
    };

    // One relationship a line (resource#relation@subject); blank lines and // comments are skipped.
    private static List<(int Line, int Column, Relationship Relationship)> ParseRelationships(string text, List<ModelProblem> problems)
    {
        var parsed = new List<(int, int, Relationship)>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            var column = line.Length - trimmed.Length + 1;
            try
            {
                parsed.Add((i + 1, column, Relationship.Parse(trimmed.TrimEnd())));
            }
            catch (FormatException e)
            {
                problems.Add(new ModelProblem(ModelPart.Relationships, i + 1, column, e.Message));
            }
        }

        return parsed;
    }

    // The assertions block of a validation file: a mapping of assertTrue and assertFalse to lists of
    // resource#permission@subject, each kept with its position in the text.
    private static List<(int Line, int Column, Assertion Assertion)> ParseAssertions(string text, List<ModelProblem> problems)
    {
        var parsed = new List<(int, int, Assertion)>();
        if (FlowDepthPast(text, MaxFlowDepth) is { } deep)
        {
            problems.Add(new ModelProblem(ModelPart.Assertions, deep.Line, deep.Column, $"brackets nested deeper than {MaxFlowDepth}: expected lists of resource#permission@subject"));
            return parsed;
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            problems.Add(new ModelProblem(ModelPart.Assertions, Number(e.Start.Line), Number(e.Start.Column), e.Message));
            return parsed;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return parsed;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var at = stream.Documents[0].RootNode.Start;
            problems.Add(new ModelProblem(ModelPart.Assertions, Number(at.Line), Number(at.Column), "expected 'assertTrue:' and 'assertFalse:', each a list of resource#permission@subject"));
            return parsed;
        }

        foreach (var (key, value) in root.Children)
        {
            var name = (key as YamlScalarNode)?.Value;
            Permissionship answer;
            switch (name)
            {
                case "assertTrue":
                    answer = Permissionship.Allowed;
                    break;
                case "assertFalse":
                    answer = Permissionship.Denied;
                    break;
                case "assertCaveated":
                    answer = Permissionship.Conditional;
                    break;
                default:
                    problems.Add(new ModelProblem(ModelPart.Assertions, Number(key.Start.Line), Number(key.Start.Column),
                        $"'{name}': unknown key; the assertions are assertTrue, assertFalse and assertCaveated"));
                    continue;
            }

            if (value is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (value is not YamlSequenceNode items)
            {
                problems.Add(new ModelProblem(ModelPart.Assertions, Number(value.Start.Line), Number(value.Start.Column), $"{name}: expected a list of resource#permission@subject"));
                continue;
            }

            foreach (var item in items)
            {
                var (line, column) = (Number(item.Start.Line), Number(item.Start.Column));
                if (item is not YamlScalarNode { Value: { } assertion })
                {
                    problems.Add(new ModelProblem(ModelPart.Assertions, line, column, $"{name}: expected resource#permission@subject"));
                    continue;
                }

                try
                {
                    parsed.Add((line, column, Assertion.Parse(assertion, answer)));
                }
                catch (FormatException e)
                {
                    problems.Add(new ModelProblem(ModelPart.Assertions, line, column, $"{name}: {e.Message}"));
                }
            }
        }

        return parsed;
    }

    // The YAML loader recurses once per nested [ or {: text from the network is refused well before that could matter.
    private const int MaxFlowDepth = 16;

    // Where [ and { first nest deeper than max (counted without regard to quotes: a valid assertion needs neither).
    private static (int Line, int Column)? FlowDepthPast(string text, int max)
    {
        var (depth, line, column) = (0, 1, 0);
        foreach (var c in text)
        {
            column++;
            if (c == '\n')
            {
                (line, column) = (line + 1, 0);
            }
            else if (c is '[' or '{')
            {
                depth++;
                if (depth > max)
                {
                    return (line, column);
                }
            }
            else if (c is ']' or '}')
            {
                depth = Math.Max(0, depth - 1);
            }
        }

        return null;
    }

    private static int Number(long value) => (int)Math.Clamp(value, 1, int.MaxValue);
}
