using System.Diagnostics;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// Readers take no lock: each read answers from one published version of the graph, so a write batch is seen entirely
/// or not at all, and a version, once published, never changes under a reader.
/// </summary>
public sealed class LockFreeReadTests
{
    private const string Schema = """
        definition user {}
        definition group {
            relation member: user | group#member
        }
        definition doc {
            relation first: user
            relation second: user
            relation left: group#member
            relation right: group#member
            permission exactly_one = (first - second) + (second - first)
            permission in_either_group = left + right
            permission in_both_groups = left & right
        }
        """;

    private static readonly Relationship First = Relationship.Parse("doc:1#first@user:alice");
    private static readonly Relationship Second = Relationship.Parse("doc:1#second@user:alice");
    private static readonly Relationship InLeft = Relationship.Parse("group:left#member@user:bob");
    private static readonly Relationship InRight = Relationship.Parse("group:right#member@user:bob");

    [Fact]
    public async Task Readers_NeverSeeHalfOfAWriteBatch()
    {
        using var engine = new PermissionEngine(CompiledSchema.Compile(Schema));
        engine.Add(
            Relationship.Parse("doc:1#left@group:left#member"),
            Relationship.Parse("doc:1#right@group:right#member"),
            InLeft);

        // Each batch keeps two invariants that only hold for whole batches: alice is on both `first` and `second` or
        // on neither (a direct relation set), and bob is in exactly one group (the membership index of three nodes).
        RelationshipUpdate[] forth = [Touch(First), Touch(Second), Delete(InLeft), Touch(InRight)];
        RelationshipUpdate[] back = [Delete(First), Delete(Second), Delete(InRight), Touch(InLeft)];
        var writing = true;
        using var reading = new CountdownEvent(2);
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var violations = new List<string>();
            var first = true;
            do
            {
                if (engine.Check("doc", "1", "exactly_one", "user", "alice"))
                {
                    violations.Add("alice on exactly one of first and second");
                }

                if (!engine.Check("doc", "1", "in_either_group", "user", "bob"))
                {
                    violations.Add("bob in neither group");
                }

                if (engine.Check("doc", "1", "in_both_groups", "user", "bob"))
                {
                    violations.Add("bob in both groups");
                }

                if (engine.LookupResources("doc", "in_either_group", SubjectRef.Parse("user:bob")).Resources.Count != 1)
                {
                    violations.Add("lookup of bob's docs missed doc:1");
                }

                if (first)
                {
                    reading.Signal();
                    first = false;
                }
            }
            while (Volatile.Read(ref writing) && violations.Count == 0);

            return violations;
        })).ToArray();

        // Once both readers are under way; bounded by count and time, whichever comes first. No assertion depends on timing.
        // A reader that failed before its first read would never signal: its failure is reported below, not a hang.
        reading.Wait(TimeSpan.FromSeconds(60));
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < 20_000 && stopwatch.Elapsed < TimeSpan.FromSeconds(5); i++)
        {
            engine.Write(i % 2 == 0 ? forth : back);
        }

        Volatile.Write(ref writing, false);
        Assert.All(await Task.WhenAll(readers), Assert.Empty);
    }

    [Fact]
    public void PublishedVersion_KeepsItsAnswers_WhenTheNextIsWritten()
    {
        var schema = CompiledSchema.Compile(Schema);
        var first = Write(new RelationshipGraph(schema), 1, g =>
        {
            g.Add(g.Resolve(First));
            g.Add(g.Resolve(InLeft));
            g.Add(g.Resolve(Relationship.Parse("group:all#member@group:left#member")));
        });
        var bob = first.FindObject(schema.Types.Single(t => t.Name == "user").Index, "bob");
        var leftMembers = first.FindSubjectSet(first.FindObject(schema.Types.Single(t => t.Name == "group").Index, "left"), 0);
        var reachBefore = first.Membership.Reach(bob).ToArray().Order().ToArray();

        var second = Write(first, 2, g =>
        {
            g.Remove(g.Resolve(First));
            g.Remove(g.Resolve(InLeft));
            g.Add(g.Resolve(Second));
            g.Add(g.Resolve(InRight));
        });

        Assert.True(first.Contains(first.Resolve(First), now: 0));
        Assert.False(first.Contains(first.Resolve(Second), now: 0));
        Assert.Equal(3, first.RelationshipCount);
        Assert.Equal(1, first.Revision);
        Assert.Equal(reachBefore, first.Membership.Reach(bob).ToArray().Order());
        Assert.Contains(leftMembers, reachBefore);
        Assert.Equal(-1, first.FindObject(schema.Types.Single(t => t.Name == "group").Index, "right"));

        Assert.False(second.Contains(second.Resolve(First), now: 0));
        Assert.True(second.Contains(second.Resolve(Second), now: 0));
        Assert.Equal(3, second.RelationshipCount);
        Assert.DoesNotContain(leftMembers, second.Membership.Reach(bob).ToArray());
        Assert.True(second.FindObject(schema.Types.Single(t => t.Name == "group").Index, "right") >= 0);
    }

    [Fact]
    public void PublishedVersion_CannotBeChanged()
    {
        var graph = Write(new RelationshipGraph(CompiledSchema.Compile(Schema)), 1, g => g.Add(g.Resolve(First)));

        Assert.Throws<InvalidOperationException>(() => graph.Add(graph.Resolve(Second)));
    }

    private static RelationshipGraph Write(RelationshipGraph published, long revision, Action<RelationshipGraph> write)
    {
        var next = published.Edit(new WriteEdit());
        write(next);
        next.Seal(revision);
        return next;
    }

    private static RelationshipUpdate Touch(Relationship r) => new(RelationshipOperation.Touch, r);

    private static RelationshipUpdate Delete(Relationship r) => new(RelationshipOperation.Delete, r);
}
