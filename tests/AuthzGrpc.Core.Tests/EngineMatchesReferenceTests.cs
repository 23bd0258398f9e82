using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Reference;
using Xunit.Abstractions;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// The property test: on random schemas and relationship sets, with relationships added and removed between queries,
/// the engine (compiled plans, precomputed closures) answers every Check, LookupResources and LookupSubjects exactly
/// as the reference evaluator (the definitions read literally) does. Both read the model's clock, which moves on between
/// queries, so expiring relationships lapse (to the second) in the middle of a model's queries. Checks carry a random
/// caveat context: where the reference (every combination of the open caveats) is allowed or denied, the engine says
/// the same or, where its three-valued logic cannot see that the missing values do not matter, conditional; where the
/// reference is conditional, so is the engine, and supplying the parameters it names decides the check.
/// </summary>
public sealed class EngineMatchesReferenceTests(ITestOutputHelper output)
{
    private const int Models = 250;
    private const int QueriesPerModel = 60;

    [Fact]
    public void RandomModels_EngineAgreesWithReference()
    {
        var seed = RandomModel.Seed(output);
        var checks = 0;
        var allowed = 0;
        var conditional = 0;
        var conservative = 0;
        for (var m = 0; m < Models; m++)
        {
            var random = new Random(seed + m);
            var model = RandomModel.Create(random);
            var stored = new List<Relationship>();
            var reference = new ReferenceEvaluator(model.Schema.Syntax, stored, model.Clock);
            using var engine = new PermissionEngine(model.Schema) { Clock = model.Clock };
            for (var i = 0; i < 12; i++)
            {
                Mutate(model, engine, stored, random, add: true);
            }

            for (var q = 0; q < QueriesPerModel; q++)
            {
                if (random.Next(4) == 0)
                {
                    Mutate(model, engine, stored, random, add: random.Next(3) > 0);
                }

                if (random.Next(4) == 0)
                {
                    model.Clock.Advance(TimeSpan.FromSeconds(random.Next(1, 60)));
                }

                var (resource, permission, subject) = model.RandomQuery();
                var context = model.Schema.UsesCaveats ? model.RandomContext(forRelationship: false) : null;
                var expected = reference.Decide(resource, permission, subject, context);
                var actual = Decide(engine, resource, permission, subject, context);
                if (expected != actual.Permissionship && !(actual.Permissionship == Permissionship.Conditional && expected != Permissionship.Conditional))
                {
                    Assert.Fail(Describe(seed + m, model, stored, $"Check {resource}#{permission}@{subject} with {context?.ToJson()}: reference {expected}, engine {actual.Permissionship}\n{engine.Explain(resource, permission, subject, context)}"));
                }

                if (actual.Permissionship == Permissionship.Conditional)
                {
                    conditional++;
                    conservative += expected != Permissionship.Conditional ? 1 : 0;
                    var supplied = CaveatContext.Merge(context!, model.RandomContext(forRelationship: false, only: actual.MissingParameters));
                    var decided = Decide(engine, resource, permission, subject, supplied);
                    if (actual.MissingParameters.Count == 0 || decided.Permissionship == Permissionship.Conditional)
                    {
                        Assert.Fail(Describe(seed + m, model, stored, $"Check {resource}#{permission}@{subject} with {context?.ToJson()}: conditional on [{string.Join(",", actual.MissingParameters)}], with them {supplied.ToJson()} still {decided.Permissionship} on [{string.Join(",", decided.MissingParameters)}]"));
                    }
                }

                checks++;
                allowed += actual.IsAllowed ? 1 : 0;
                if (q % 10 == 0)
                {
                    CompareLookups(seed + m, model, engine, reference, stored, resource, permission);
                    if (context is not null)
                    {
                        CompareConditionalLookups(seed + m, model, engine, stored, resource, permission, context);
                    }
                }
            }
        }

        output.WriteLine($"{checks} checks, {allowed} allowed, {conditional} conditional ({conservative} where the reference decides), {Models} models");
        Assert.True(conditional > 0, "no check was conditional: the caveats were never exercised");
        Assert.True(checks >= 10_000);

        // A property test whose answers are all "denied" proves little.
        Assert.InRange(allowed, checks / 20, checks - (checks / 20));
    }

    private static CheckDecision Decide(PermissionEngine engine, ObjectRef resource, string permission, SubjectRef subject, CaveatContext? context) =>
        engine.Decide(resource.Type, resource.Id, permission, subject.Type, subject.Id, subject.Relation, context);

    // Whether a lookup without context lists the object or subject: where the reference is allowed, unless the engine's
    // own check is conditional there (its three-valued logic cannot see the caveat does not matter), as it lists what a
    // check allows.
    private static bool Listed(PermissionEngine engine, ReferenceEvaluator reference, ObjectRef resource, string permission, SubjectRef subject) =>
        reference.Decide(resource, permission, subject, null) == Permissionship.Allowed
        && Decide(engine, resource, permission, subject, null).Permissionship != Permissionship.Conditional;

    private static void Mutate(RandomModel model, PermissionEngine engine, List<Relationship> stored, Random random, bool add)
    {
        if (!add && stored.Count > 0)
        {
            var victim = stored[random.Next(stored.Count)];
            stored.Remove(victim);
            engine.Remove(victim);
            return;
        }

        // A relationship stored already is written again with the new draw's expiry (or none): a touch that moves it.
        if (model.RandomRelationship() is { } relationship)
        {
            stored.Remove(relationship);
            stored.Add(relationship);
            engine.Add(relationship);
        }
    }

    private static void CompareLookups(int seed, RandomModel model, PermissionEngine engine, ReferenceEvaluator reference,
        List<Relationship> stored, ObjectRef resource, string permission)
    {
        var users = stored.Select(r => r.Subject).Where(s => s.Type == "user" && !s.IsWildcard).Distinct().ToList();
        foreach (var user in users.Take(3))
        {
            var expected = stored.SelectMany(r => new[] { r.Resource, r.Subject.Object })
                .Where(o => o.Type == resource.Type && o.Id != Identifiers.Wildcard).Distinct()
                .Where(o => Listed(engine, reference, o, permission, user)).Select(o => o.Id).Order(StringComparer.Ordinal);
            var actual = engine.LookupResources(resource.Type, permission, user).Resources.Select(o => o.Id);
            if (!expected.SequenceEqual(actual))
            {
                Assert.Fail(Describe(seed, model, stored, $"LookupResources {resource.Type}#{permission}@{user}: reference [{string.Join(",", expected)}], engine [{string.Join(",", actual)}]"));
            }

            foreach (var limit in PageSizes)
            {
                var paged = Paged(limit, (after, l) => engine.LookupResources(resource.Type, permission, user, after, l).Resources.Select(o => o.Id).ToList());
                if (!paged.SequenceEqual(actual))
                {
                    Assert.Fail(Describe(seed, model, stored, $"LookupResources {resource.Type}#{permission}@{user} in pages of {limit}: [{string.Join(",", paged)}], unpaged [{string.Join(",", actual)}]"));
                }
            }
        }

        var lookup = engine.LookupSubjects(resource, permission, "user");
        var everyone = lookup.Subjects.Any(s => s.IsWildcard);
        foreach (var limit in PageSizes)
        {
            var paged = Paged(limit, (after, l) => engine.LookupSubjects(resource, permission, "user", after, l).Subjects.Select(s => s.Id).ToList());
            var first = engine.LookupSubjects(resource, permission, "user", null, limit);
            if (!paged.SequenceEqual(lookup.Subjects.Select(s => s.Id)) || !first.ExcludedFromWildcard.SequenceEqual(lookup.ExcludedFromWildcard))
            {
                Assert.Fail(Describe(seed, model, stored, $"LookupSubjects {resource}#{permission} in pages of {limit}: [{string.Join(",", paged)}] minus [{string.Join(",", first.ExcludedFromWildcard)}], unpaged [{string.Join(",", lookup.Subjects)}] minus [{string.Join(",", lookup.ExcludedFromWildcard)}]"));
            }
        }

        var anyone = new SubjectRef("user", "never_stored");
        if (everyone != Listed(engine, reference, resource, permission, anyone))
        {
            Assert.Fail(Describe(seed, model, stored, $"LookupSubjects {resource}#{permission}: wildcard {everyone}, reference for an unstored user disagrees"));
        }

        foreach (var user in users)
        {
            var listed = lookup.Subjects.Contains(user) || (everyone && !lookup.ExcludedFromWildcard.Contains(user));
            if (listed != Listed(engine, reference, resource, permission, user))
            {
                Assert.Fail(Describe(seed, model, stored, $"LookupSubjects {resource}#{permission}: {user} listed={listed}, reference disagrees; got [{string.Join(",", lookup.Subjects)}] minus [{string.Join(",", lookup.ExcludedFromWildcard)}]"));
            }
        }
    }

    // With a context and conditional answers asked for, a lookup lists exactly what Check allows or finds conditional,
    // the conditional ones with the parameters Check names.
    private static void CompareConditionalLookups(
        int seed, RandomModel model, PermissionEngine engine, List<Relationship> stored, ObjectRef resource, string permission, CaveatContext context)
    {
        var objects = stored.SelectMany(r => new[] { r.Resource, r.Subject.Object }).Where(o => o.Id != Identifiers.Wildcard).Distinct().ToList();
        foreach (var user in objects.Where(o => o.Type == "user").Take(3).Select(o => new SubjectRef(o.Type, o.Id)))
        {
            var lookup = engine.LookupResources(resource.Type, permission, user, caveatContext: context, includeConditional: true);
            foreach (var candidate in objects.Where(o => o.Type == resource.Type))
            {
                var check = Decide(engine, candidate, permission, user, context);
                var listed = lookup.Resources.Contains(candidate);
                var missing = lookup.Conditional.GetValueOrDefault(candidate);
                if (listed != (check.Permissionship != Permissionship.Denied) || (check.Permissionship == Permissionship.Conditional) != missing is not null
                    || (missing is not null && !missing.SequenceEqual(check.MissingParameters)))
                {
                    Assert.Fail(Describe(seed, model, stored, $"LookupResources {resource.Type}#{permission}@{user} with {context.ToJson()}: {candidate} listed={listed} missing=[{string.Join(",", missing ?? [])}], Check {check.Permissionship} [{string.Join(",", check.MissingParameters)}]"));
                }
            }
        }

        var subjects = engine.LookupSubjects(resource, permission, "user", caveatContext: context, includeConditional: true);
        foreach (var user in objects.Where(o => o.Type == "user").Select(o => new SubjectRef(o.Type, o.Id)))
        {
            // Listed by name (then marked as its own check is) or through the wildcard (then marked as the wildcard is).
            var check = Decide(engine, resource, permission, user, context);
            var wildcard = new SubjectRef("user", Identifiers.Wildcard);
            var named = subjects.Subjects.Contains(user);
            var throughWildcard = subjects.Subjects.Contains(wildcard) && !subjects.ExcludedFromWildcard.Contains(user);
            var conditional = named ? subjects.Conditional.ContainsKey(user) : throughWildcard && subjects.Conditional.ContainsKey(wildcard);
            if ((named || throughWildcard) != (check.Permissionship != Permissionship.Denied) || conditional != (check.Permissionship == Permissionship.Conditional))
            {
                Assert.Fail(Describe(seed, model, stored, $"LookupSubjects {resource}#{permission} with {context.ToJson()}: {user} named={named} throughWildcard={throughWildcard} conditional={conditional}, Check {check.Permissionship}"));
            }
        }
    }

    private static readonly int[] PageSizes = [1, 2, 3];

    // Every id a lookup returns in pages of `limit`, each page starting strictly after the last id of the one before,
    // until a page comes back short. A page longer than the limit, or one that does not move past `after`, fails at
    // once: it would hide a bug, or never end.
    private static List<string> Paged(int limit, Func<string?, int, List<string>> page)
    {
        var all = new List<string>();
        string? after = null;
        while (true)
        {
            var ids = page(after, limit);
            Assert.True(ids.Count <= limit, $"a page of limit {limit} held {ids.Count}");
            Assert.True(after is null || ids.Count == 0 || string.CompareOrdinal(ids[0], after) > 0, $"a page after '{after}' began with '{ids.FirstOrDefault()}'");
            all.AddRange(ids);
            if (ids.Count < limit)
            {
                return all;
            }

            after = ids[^1];
        }
    }

    private static string Describe(int seed, RandomModel model, List<Relationship> stored, string failure) =>
        $"{failure}\nmodel seed {seed}\nschema:\n{model.Schema.Text}\nrelationships:\n{string.Join("\n", stored)}";
}
