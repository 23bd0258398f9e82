using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// Caveated relationships in the engine: their text form, what a write may carry, that a touch replaces the caveat and
/// a delete ignores it, and that a conditional answer stays conditional when many checks ask at once (SpiceDB's
/// GHSA-4vrg-r928-h5vv answered HAS_PERMISSION under concurrency).
/// </summary>
public sealed class CaveatedRelationshipTests
{
    private static readonly CompiledSchema Schema = CompiledSchema.Compile("""
        use expiration

        caveat within_quota(limit int, used int) { used < limit }

        definition user {}

        definition document {
            relation reader: user | user with within_quota | user with within_quota and expiration
            relation writer: user
            permission read = reader
            permission edit = reader & writer
        }
        """);

    [Fact]
    public void TextForm_RoundTrips_WithTheContextAsCanonicalJson_BeforeTheExpiration()
    {
        var parsed = Relationship.Parse("""document:d#reader@user:ann[within_quota:{"used": 1, "limit": 3}][expiration:2030-01-01T00:00:00Z]""");

        Assert.Equal("within_quota", parsed.Caveat!.Name);
        Assert.Equal(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), parsed.ExpiresAt);
        Assert.Equal("""document:d#reader@user:ann[within_quota:{"limit":3,"used":1}][expiration:2030-01-01T00:00:00Z]""", parsed.ToString());
        Assert.Equal("document:d#reader@user:ann[within_quota]", Relationship.Parse("document:d#reader@user:ann[within_quota]").ToString());
        Assert.Equal(parsed, Relationship.Parse(parsed.ToString()));
        Assert.Equal(parsed.Caveat, Relationship.Parse(parsed.ToString()).Caveat);
    }

    [Theory]
    [InlineData("document:d#reader@user:ann[within_quota:[1]]", "caveat context must")]
    [InlineData("document:d#reader@user:ann[Within]", "is not a valid type name")]
    [InlineData("document:d#reader@user:ann[within_quota", "is not a caveat")]
    public void TextForm_ThatIsNotACaveat_IsRefused_SayingWhy(string text, string message)
    {
        var error = Assert.Throws<FormatException>(() => Relationship.Parse(text));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("document:d#writer@user:ann[within_quota]", "does not allow subjects of type 'user with within_quota'")]
    [InlineData("document:d#reader@user:ann[on_tuesday]", "does not allow subjects of type 'user with on_tuesday'")]
    [InlineData("document:d#reader@user:ann[within_quota:{\"quota\": 3}]", "caveat 'within_quota' has no parameter 'quota'; it has limit int, used int")]
    [InlineData("document:d#reader@user:ann[within_quota:{\"limit\": \"three\"}]", "parameter 'limit'")]
    public void AWrite_TheSchemaDoesNotAllow_IsInvalid_AndStoresNothing(string text, string message)
    {
        using var engine = new PermissionEngine(Schema);

        var error = Assert.Throws<AuthzException>(() => engine.Add(Relationship.Parse(text)));

        Assert.Equal(AuthzErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(engine.ReadAll());
    }

    [Fact]
    public void ACheckContext_ThatDoesNotFitAParameter_IsRefused_WhetherOrNotTheCheckMeetsACaveat()
    {
        // Refused on the schema alone: the refusal tells nothing of which caveated relationships exist.
        using var engine = new PermissionEngine(Schema);
        engine.Add(Relationship.Parse("""document:d#reader@user:ann[within_quota:{"limit": 3}]"""));
        var unfit = CaveatContext.Parse("""{"used": "many"}""");

        foreach (var user in new[] { "ann", "nobody" })
        {
            var error = Assert.Throws<AuthzException>(() => engine.Decide("document", "d", "read", "user", user, null, unfit));
            Assert.Equal(AuthzErrorKind.InvalidArgument, error.Kind);
            Assert.Contains("parameter 'used'", error.Message, StringComparison.Ordinal);
        }

        Assert.Throws<AuthzException>(() => engine.LookupResources("document", "read", new SubjectRef("user", "nobody"), caveatContext: unfit));
        Assert.Throws<AuthzException>(() => engine.LookupSubjects(new ObjectRef("document", "e"), "read", "user", caveatContext: unfit));
    }

    [Fact]
    public void ATouch_ReplacesTheCaveat_AndADelete_IgnoresIt()
    {
        using var engine = new PermissionEngine(Schema);
        var used = CaveatContext.Parse("""{"used": 5}""");
        engine.Add(Relationship.Parse("""document:d#reader@user:ann[within_quota:{"limit": 3}]"""));
        Assert.Equal(Permissionship.Denied, Read(engine, used).Permissionship);

        engine.Add(Relationship.Parse("""document:d#reader@user:ann[within_quota:{"limit": 10}]"""));
        Assert.Equal(Permissionship.Allowed, Read(engine, used).Permissionship);
        Assert.Equal(["""document:d#reader@user:ann[within_quota:{"limit":10}]"""], engine.ReadAll().Select(r => r.ToString()));

        engine.Add(Relationship.Parse("document:d#reader@user:ann"));
        Assert.Equal(Permissionship.Allowed, Read(engine, null).Permissionship);

        engine.Add(Relationship.Parse("document:d#reader@user:ann[within_quota]"));
        Assert.Equal(Permissionship.Conditional, Read(engine, null).Permissionship);
        Assert.Equal(["limit", "used"], Read(engine, null).MissingParameters);

        engine.Remove(Relationship.Parse("document:d#reader@user:ann"));
        Assert.Empty(engine.ReadAll());
        Assert.Equal(Permissionship.Denied, Read(engine, null).Permissionship);
    }

    [Fact]
    public void AConditionalAnswer_StaysConditional_UnderConcurrentChecks_ThroughAnIntersection()
    {
        // ann reaches 'edit' through the caveated reader branch only; bob through an uncaveated one too.
        using var engine = new PermissionEngine(Schema);
        engine.Add(
        [
            Relationship.Parse("""document:d#reader@user:ann[within_quota:{"limit": 3}]"""),
            Relationship.Parse("document:d#writer@user:ann"),
            Relationship.Parse("document:d#reader@user:bob"),
            Relationship.Parse("document:d#writer@user:bob"),
        ]);

        var answers = new System.Collections.Concurrent.ConcurrentBag<(string User, Permissionship Answer)>();
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var user = i % 2 == 0 ? "ann" : "bob";
            answers.Add((user, engine.Decide("document", "d", "edit", "user", user, null, null).Permissionship));
        });

        Assert.All(answers.Where(a => a.User == "ann"), a => Assert.Equal(Permissionship.Conditional, a.Answer));
        Assert.All(answers.Where(a => a.User == "bob"), a => Assert.Equal(Permissionship.Allowed, a.Answer));
    }

    private static CheckDecision Read(PermissionEngine engine, CaveatContext? context) =>
        engine.Decide("document", "d", "read", "user", "ann", null, context);
}
