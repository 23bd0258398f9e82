using System.Text;
using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using Microsoft.Extensions.Time.Testing;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// Random schemas and relationship sets for the property test. Types t0..tN may reference themselves and earlier
/// types; stored data never loops through a relation that evaluation walks (arrows and permission subject sets),
/// because the engine answers such a loop with an error where the reference evaluator cuts it. Group-style
/// relations (precomputed membership) may loop freely. Half the schemas say <c>use expiration</c> and mark some subject
/// types <c>with expiration</c>: their relationships expire around the model's <see cref="Clock"/>, which the tests move.
/// Half define the caveats of <see cref="CaveatDefinitions"/> and mark some subject types <c>with</c> one: their
/// relationships carry part of the caveat's context, and <see cref="RandomContext"/> draws the rest (or not) for a check.
/// </summary>
internal sealed class RandomModel
{
    /// <summary>The property tests' seed: <c>AUTHZ_PROPERTY_SEED</c> to replay a run, otherwise a new one; written to the output.</summary>
    public static int Seed(Xunit.Abstractions.ITestOutputHelper output)
    {
        var seed = Environment.GetEnvironmentVariable("AUTHZ_PROPERTY_SEED") is { } fixedSeed
            ? int.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (rerun with AUTHZ_PROPERTY_SEED={seed})");
        return seed;
    }

    private readonly Random _random;

    private RandomModel(Random random, CompiledSchema schema, int idsPerType)
    {
        _random = random;
        Schema = schema;
        IdsPerType = idsPerType;
    }

    public CompiledSchema Schema { get; }

    /// <summary>The clock expiring relationships are judged by: give it to the engine and the reference, and advance it.</summary>
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public int IdsPerType { get; }

    /// <summary>A random model; with <paramref name="caveats"/> false, never one with caveats (for paths that leave those to the engine).</summary>
    public static RandomModel Create(Random random, bool caveats = true)
    {
        for (var attempt = 0; ; attempt++)
        {
            var text = GenerateSchema(random, caveats);
            try
            {
                return new RandomModel(random, CompiledSchema.Compile(text), random.Next(2, 5));
            }
            catch (SchemaException) when (attempt < 100)
            {
                // A random schema the compiler refuses (its refusals are tested elsewhere): draw another.
            }
        }
    }

    /// <summary>The caveats a schema may define: integer, boolean and string parameters, with and without short-circuits.</summary>
    internal const string CaveatDefinitions = """
        caveat under_limit(count int, limit int) { count < limit }
        caveat flagged(enabled bool) { enabled }
        caveat tier_or_admin(tier string, admin bool) { admin || tier == "gold" }
        """;

    private static readonly string[] CaveatNames = ["under_limit", "flagged", "tier_or_admin"];

    /// <summary>
    /// Part of a caveat's context, for a relationship (<paramref name="forRelationship"/>) or a check: each parameter
    /// given or not (with <paramref name="only"/>: those and no other), with values on both sides of each caveat's condition.
    /// </summary>
    public CaveatContext RandomContext(bool forRelationship, IReadOnlyCollection<string>? only = null)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        void Maybe(string name, object value)
        {
            if (only is not null ? only.Contains(name) : _random.Next(forRelationship ? 3 : 2) == 0)
            {
                values[name] = value;
            }
        }

        Maybe("count", (long)_random.Next(0, 6));
        Maybe("limit", (long)_random.Next(0, 6));
        Maybe("enabled", _random.Next(2) == 0);
        Maybe("tier", _random.Next(2) == 0 ? "gold" : "silver");
        Maybe("admin", _random.Next(3) == 0);
        return CaveatContext.FromValues(values);
    }

    public string RandomId(string type) => type == "user" && _random.Next(8) == 0 ? "stranger" : $"{type}_{_random.Next(IdsPerType)}";

    /// <summary>A random relationship the schema allows, or null when the draw would close a loop evaluation walks.</summary>
    public Relationship? RandomRelationship()
    {
        var types = Schema.Types.Where(t => t.Members.OfType<RelationDefinition>().Any()).ToList();
        var type = types[_random.Next(types.Count)];
        var relations = type.Members.OfType<RelationDefinition>().ToList();
        var relation = relations[_random.Next(relations.Count)];
        var allowed = relation.AllowedSubjects[_random.Next(relation.AllowedSubjects.Count)];
        var resourceIndex = _random.Next(IdsPerType);
        var subjectIndex = _random.Next(IdsPerType);
        var walked = relation.IsArrowSource || (allowed.Relation is not null && allowed.Relation is not RelationDefinition { IsMembershipIndexed: true });
        if (allowed.Type == type && walked && !allowed.Wildcard && subjectIndex >= resourceIndex)
        {
            return null;
        }

        var subjectId = allowed.Wildcard ? Identifiers.Wildcard : allowed.Type.Name == "user" ? $"user_{_random.Next(IdsPerType + 1)}" : $"{allowed.Type.Name}_{subjectIndex}";

        // An expiring one ends from a minute ago (already expired) to ten minutes from now, to the second. A caveated one
        // carries the parameters of its caveat that the draw gives (only those: others are refused at write).
        return new Relationship(new ObjectRef(type.Name, $"{type.Name}_{resourceIndex}"), relation.Name, new SubjectRef(allowed.Type.Name, subjectId, allowed.Relation?.Name))
        {
            ExpiresAt = allowed.Expiring ? Clock.GetUtcNow().AddSeconds(_random.Next(-60, 600)) : null,
            Caveat = allowed.Caveat is { } caveat ? new RelationshipCaveat(caveat.Name, OnlyParametersOf(caveat, RandomContext(forRelationship: true))) : null,
        };
    }

    private static CaveatContext OnlyParametersOf(CompiledCaveat caveat, CaveatContext context)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(context.ToJson())!.AsObject();
        foreach (var name in context.Names.Where(n => caveat.Parameters.All(p => p.Name != n)).ToList())
        {
            json.Remove(name);
        }

        return CaveatContext.Parse(json.ToJsonString());
    }

    public (ObjectRef Resource, string Permission, SubjectRef Subject) RandomQuery()
    {
        var types = Schema.Types.Where(t => t.Members.Count > 0).ToList();
        var type = types[_random.Next(types.Count)];
        var member = type.Members[_random.Next(type.Members.Count)];
        var resource = new ObjectRef(type.Name, RandomId(type.Name));
        return (resource, member.Name, RandomSubject());
    }

    public SubjectRef RandomSubject()
    {
        if (_random.Next(5) > 0)
        {
            return new SubjectRef("user", RandomId("user"));
        }

        var types = Schema.Types.Where(t => t.Members.Count > 0).ToList();
        var type = types[_random.Next(types.Count)];
        return new SubjectRef(type.Name, RandomId(type.Name), type.Members[_random.Next(type.Members.Count)].Name);
    }

    private static string GenerateSchema(Random random, bool caveatsAllowed)
    {
        var typeCount = random.Next(2, 5);
        var relations = new List<List<(string Name, List<string> Subjects)>>();
        var permissions = new List<List<string>>();
        var expiration = random.Next(2) == 0;
        var caveats = caveatsAllowed && random.Next(2) == 0;
        var text = new StringBuilder(expiration ? "use expiration\n" : string.Empty).Append(caveats ? CaveatDefinitions + "\n" : string.Empty).Append("definition user {}\n");
        for (var t = 0; t < typeCount; t++)
        {
            var own = new List<(string Name, List<string> Subjects)>();
            var relationCount = random.Next(1, 4);
            for (var r = 0; r < relationCount; r++)
            {
                var subjects = new HashSet<string>();
                var subjectCount = random.Next(1, 4);
                for (var s = 0; s < subjectCount; s++)
                {
                    var target = random.Next(-1, t + 1);
                    // A relation with a wildcard is never named by a subject set (the compiler refuses it, as SpiceDB does).
                    var self = $"t{t}#r{r}";
                    var wildcardAllowed = !subjects.Contains(self);
                    if (target < 0)
                    {
                        subjects.Add(random.Next(4) == 0 && wildcardAllowed ? "user:*" : "user");
                        continue;
                    }

                    // Subject sets point at relations already declared (same type: earlier relations and itself).
                    var declared = target == t ? own : relations[target];
                    var targetRelations = declared.Where(o => !HasWildcard(o.Subjects)).Select(o => o.Name).ToList();
                    if (target == t && !HasWildcard(subjects))
                    {
                        targetRelations.Add($"r{r}");
                    }

                    var targetPermissions = target < t ? permissions[target] : [];
                    var roll = random.Next(3);
                    if (roll == 0 || (targetRelations.Count == 0 && targetPermissions.Count == 0))
                    {
                        // Sometimes every object of the type, which SpiceDB also lets match a subject set on such an object.
                        subjects.Add(random.Next(5) == 0 && wildcardAllowed ? $"t{target}:*" : $"t{target}");
                    }
                    else if ((roll == 1 && targetRelations.Count > 0) || targetPermissions.Count == 0)
                    {
                        subjects.Add($"t{target}#{targetRelations[random.Next(targetRelations.Count)]}");
                    }
                    else
                    {
                        subjects.Add($"t{target}#{targetPermissions[random.Next(targetPermissions.Count)]}");
                    }
                }

                own.Add(($"r{r}", subjects.ToList()));
            }

            relations.Add(own);
            var ownPermissions = new List<string>();
            var members = new List<string>();
            foreach (var (name, subjects) in own)
            {
                members.Add($"    relation {name}: {string.Join(" | ", subjects.SelectMany(s => WithTraits(random, s, expiration, caveats)).Distinct())}\n");
            }

            var permissionCount = random.Next(1, 4);
            for (var p = 0; p < permissionCount; p++)
            {
                var expression = RandomExpression(random, own, ownPermissions, relations, permissions, t, 0, $"p{p}");
                members.Add($"    permission p{p} = {expression}\n");
                ownPermissions.Add($"p{p}");
            }

            permissions.Add(ownPermissions);

            // Half the definitions declare their members in any order (a permission may come before the relations it
            // names, as SpiceDB allows), so member indexes interleave relations and permissions.
            if (random.Next(2) == 0)
            {
                random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(members));
            }

            text.Append("definition t").Append(t).Append(" {\n").Append(string.Concat(members)).Append("}\n");
        }

        return text.ToString();
    }

    // A subject type as written: plain, 'with expiration' (its relationships expire), 'with' a caveat, both traits, or
    // now and then the plain form beside one with traits.
    private static IEnumerable<string> WithTraits(Random random, string subject, bool expiration, bool caveats)
    {
        var caveat = caveats && random.Next(2) == 0 ? CaveatNames[random.Next(CaveatNames.Length)] : null;
        var expiring = expiration && random.Next(5) < 3;
        var traits = (caveat, expiring) switch
        {
            (null, false) => string.Empty,
            (null, true) => " with expiration",
            (_, false) => $" with {caveat}",
            _ => $" with {caveat} and expiration",
        };
        return traits.Length == 0 ? [subject] : random.Next(3) == 0 ? [subject, subject + traits] : [subject + traits];
    }

    private static bool HasWildcard(IEnumerable<string> subjects) => subjects.Any(s => s.EndsWith(":*", StringComparison.Ordinal));

    private static string RandomExpression(
        Random random, List<(string Name, List<string> Subjects)> own, List<string> ownPermissions,
        List<List<(string Name, List<string> Subjects)>> relations, List<List<string>> permissions, int type, int depth, string self)
    {
        var roll = random.Next(depth >= 2 ? 3 : 6);
        switch (roll)
        {
            case 0:
            {
                var names = own.Select(o => o.Name).Concat(ownPermissions).ToList();
                return names[random.Next(names.Count)];
            }

            case 1:
            {
                // An arrow over a relation without wildcards, to a member of one of its object types (other types the
                // relation allows may lack it: an intersection arrow over such an object is false).
                var walkable = own.Where(o => !HasWildcard(o.Subjects)).ToList();
                if (walkable.Count == 0)
                {
                    return own[0].Name;
                }

                var (name, subjects) = walkable[random.Next(walkable.Count)];
                var targetType = subjects[random.Next(subjects.Count)].Split('#')[0];
                if (targetType == "user")
                {
                    return name;
                }

                var index = int.Parse(targetType[1..], System.Globalization.CultureInfo.InvariantCulture);
                // On its own type an arrow may name the permission being written: recursion through the data
                // ('p0 = parent->p0'), which never grants without a base case; SpiceDB loads it, with a warning here.
                var targets = index == type
                    ? own.Select(o => o.Name).Concat(ownPermissions).Append(self).ToList()
                    : relations[index].Select(o => o.Name).Concat(permissions[index]).ToList();
                // SpiceDB's three spellings: '->' and '.any' (some object has it), '.all' (every object has it). Now and
                // then a name no type has: SpiceDB loads such an arrow, which never grants.
                var target = random.Next(12) == 0 ? "missing" : targets[random.Next(targets.Count)];
                return random.Next(4) switch
                {
                    0 => $"{name}.any({target})",
                    1 => $"{name}.all({target})",
                    _ => $"{name}->{target}",
                };
            }

            case 2:
                return random.Next(10) == 0 ? "nil" : own[random.Next(own.Count)].Name;
            default:
            {
                var op = roll switch { 3 => " + ", 4 => " & ", _ => " - " };
                return "(" + RandomExpression(random, own, ownPermissions, relations, permissions, type, depth + 1, self) + op +
                    RandomExpression(random, own, ownPermissions, relations, permissions, type, depth + 1, self) + ")";
            }
        }
    }
}
