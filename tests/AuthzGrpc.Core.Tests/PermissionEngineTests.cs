using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using Microsoft.Extensions.Time.Testing;

namespace AuthzGrpc.Core.Tests;

public sealed class PermissionEngineTests
{
    private const string Schema = """
        definition user {}
        definition group {
            relation member: user | group#member
        }
        definition organization {
            relation owner: user
            relation member: user | group#member
            permission admin = owner
        }
        definition folder {
            relation organization: organization
            relation parent: folder
            relation viewer: user | user:* | group#member | organization#admin
            relation banned: user
            permission view = (viewer + organization->admin + parent->view) - banned
        }
        """;

    private static PermissionEngine NewEngine(params string[] relationships)
    {
        var engine = new PermissionEngine(CompiledSchema.Compile(Schema));
        engine.Add(relationships.Select(Relationship.Parse));
        return engine;
    }

    private static bool Check(PermissionEngine engine, string resource, string permission, string subject) =>
        engine.Check(ObjectRef.Parse(resource), permission, SubjectRef.Parse(subject));

    [Fact]
    public void NestedGroups_GrantThroughEveryLevel_AndStopWhenAnEdgeIsRemoved()
    {
        using var engine = NewEngine(
            "group:eng#member@user:alice",
            "group:all#member@group:eng#member",
            "group:company#member@group:all#member",
            "folder:docs#viewer@group:company#member");

        Assert.True(Check(engine, "folder:docs", "view", "user:alice"));
        Assert.True(Check(engine, "folder:docs", "view", "group:eng#member"));
        Assert.False(Check(engine, "folder:docs", "view", "user:bob"));

        engine.Remove(Relationship.Parse("group:all#member@group:eng#member"));

        Assert.False(Check(engine, "folder:docs", "view", "user:alice"));
        Assert.Equal(["group:eng#member"], engine.Memberships(SubjectRef.Parse("user:alice")).Select(s => s.ToString()));
    }

    [Fact]
    public void GroupCycle_Terminates_AndEveryMemberReachesEveryGroupOfTheCycle()
    {
        using var engine = NewEngine(
            "group:a#member@group:b#member",
            "group:b#member@group:c#member",
            "group:c#member@group:a#member",
            "group:c#member@user:carol",
            "folder:f#viewer@group:a#member");

        Assert.True(Check(engine, "folder:f", "view", "user:carol"));
        Assert.Equal(["group:a#member", "group:b#member", "group:c#member"], engine.Memberships(SubjectRef.Parse("user:carol")).Select(s => s.ToString()).Order());

        engine.Remove(Relationship.Parse("group:b#member@group:c#member"));

        Assert.False(Check(engine, "folder:f", "view", "user:carol"));
        Assert.Equal(["group:c#member"], engine.Memberships(SubjectRef.Parse("user:carol")).Select(s => s.ToString()).Order());
    }

    [Fact]
    public void Wildcard_GrantsEveryUser_ButNotASubjectSet()
    {
        using var engine = NewEngine("folder:f#viewer@user:*");

        Assert.True(Check(engine, "folder:f", "view", "user:anyone"));
        Assert.False(Check(engine, "folder:f", "view", "organization:acme#member"));
    }

    [Fact]
    public void Wildcard_MatchesASubjectSetOnAnObjectOfItsType_AsInSpiceDb()
    {
        using var engine = new PermissionEngine(CompiledSchema.Compile("""
            definition user {}
            definition doc {
                relation reader: doc:* | user
                permission read = reader
            }
            """));
        engine.Add([Relationship.Parse("doc:d1#reader@doc:*")]);

        Assert.True(Check(engine, "doc:d1", "read", "doc:d0#reader"));
        Assert.True(Check(engine, "doc:d1", "reader", "doc:unstored#read"));
        Assert.False(Check(engine, "doc:d2", "read", "doc:d0#reader"));
        Assert.False(Check(engine, "doc:d1", "read", "user:ann"));
        Assert.Equal(["doc:d1"], engine.LookupResources("doc", "read", SubjectRef.Parse("doc:d0#reader")).Resources.Select(r => r.ToString()));
    }

    [Fact]
    public void IntersectionArrow_NeedsEveryObjectInTheRelation_AndNoneGrantsNothing()
    {
        // SpiceDB's 'rel.all(m)': a subject may deploy only if it is a member of every team the service lists.
        using var engine = new PermissionEngine(CompiledSchema.Compile("""
            definition user {}
            definition team {
                relation member: user
            }
            definition service {
                relation team: team | user
                permission deploy = team.all(member)
                permission any_team = team.any(member)
            }
            """));
        string[] stored =
        [
            "team:a#member@user:ann", "team:b#member@user:ann", "team:a#member@user:bob",
            "service:api#team@team:a", "service:api#team@team:b",
            "service:solo#team@team:a",
            "service:mixed#team@team:a", "service:mixed#team@user:ann",
        ];
        engine.Add(stored.Select(Relationship.Parse));

        Assert.True(Check(engine, "service:api", "deploy", "user:ann"));
        Assert.False(Check(engine, "service:api", "deploy", "user:bob"));
        Assert.True(Check(engine, "service:api", "any_team", "user:bob"));
        Assert.True(Check(engine, "service:solo", "deploy", "user:bob"));
        // No team at all: nobody, not everybody.
        Assert.False(Check(engine, "service:none", "deploy", "user:ann"));
        // A user in the relation has no 'member': the intersection fails, as in SpiceDB.
        Assert.False(Check(engine, "service:mixed", "deploy", "user:bob"));
        Assert.True(Check(engine, "service:mixed", "any_team", "user:bob"));

        Assert.Equal(["api", "solo"], engine.LookupResources("service", "deploy", SubjectRef.Parse("user:ann")).Resources.Select(o => o.Id));
        Assert.Equal(["user:ann", "user:bob"], engine.LookupSubjects(ObjectRef.Parse("service:solo"), "deploy", "user").Subjects.Select(s => s.ToString()));
        Assert.Equal(["user:ann"], engine.LookupSubjects(ObjectRef.Parse("service:api"), "deploy", "user").Subjects.Select(s => s.ToString()));

        var explanation = engine.Explain(ObjectRef.Parse("service:api"), "deploy", SubjectRef.Parse("user:bob")).ToString();
        Assert.Contains("[-] team.all(member)", explanation, StringComparison.Ordinal);
        Assert.Contains("[-] team:b#member", explanation, StringComparison.Ordinal);

        engine.Remove(Relationship.Parse("service:api#team@team:b"));
        Assert.True(Check(engine, "service:api", "deploy", "user:bob"));
    }

    [Fact]
    public void ExpiringRelationship_GrantsUntilItsExpiry_ToTheTick_ThenIsGoneFromEveryAnswer()
    {
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(start);
        using var engine = new PermissionEngine(CompiledSchema.Compile("""
            use expiration
            definition user {}
            definition group {
                relation member: user | user with expiration
            }
            definition doc {
                relation owner: user
                relation viewer: user with expiration | group#member
                permission view = viewer + owner
            }
            """)) { Clock = clock };
        var ann = new Relationship(ObjectRef.Parse("doc:d"), "viewer", SubjectRef.Parse("user:ann")) { ExpiresAt = start.AddMinutes(5) };
        var bob = Relationship.Parse("group:eng#member@user:bob[expiration:2030-01-01T00:10:00Z]");
        engine.Add(ann, bob, Relationship.Parse("doc:d#viewer@group:eng#member"));

        Assert.True(Check(engine, "doc:d", "view", "user:ann"));
        Assert.True(Check(engine, "doc:d", "view", "user:bob"));
        Assert.Equal(start.AddMinutes(5), engine.Read(new RelationshipFilter("doc", "d", "viewer", new SubjectFilter("user"))).Single().ExpiresAt);

        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1));
        Assert.True(Check(engine, "doc:d", "view", "user:ann"));
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.False(Check(engine, "doc:d", "view", "user:ann"));
        Assert.Empty(engine.Read(new RelationshipFilter("doc", "d", "viewer", new SubjectFilter("user"))));
        Assert.Equal(["user:bob"], engine.LookupSubjects(ObjectRef.Parse("doc:d"), "view", "user").Subjects.Select(s => s.ToString()));
        Assert.Empty(engine.LookupResources("doc", "view", SubjectRef.Parse("user:ann")).Resources);

        // Through a group: the membership expires too, though the group's grant does not.
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.False(Check(engine, "doc:d", "view", "user:bob"));
        Assert.Contains("doc:d#view", engine.Explain(ObjectRef.Parse("doc:d"), "view", SubjectRef.Parse("user:bob")).ToString(), StringComparison.Ordinal);

        // An expired relationship is not there: creating it again succeeds; touching without an expiry makes bob's
        // membership permanent (the relation allows both); a delete addresses it whatever its expiry.
        engine.Write([new RelationshipUpdate(RelationshipOperation.Create, ann with { ExpiresAt = start.AddHours(1) })]);
        Assert.True(Check(engine, "doc:d", "view", "user:ann"));
        engine.Add(bob with { ExpiresAt = null });
        Assert.True(Check(engine, "doc:d", "view", "user:bob"));
        engine.Remove(ann with { ExpiresAt = null });
        Assert.False(Check(engine, "doc:d", "view", "user:ann"));

        // The subject type's trait decides whether an expiry may (and must) be written, as in SpiceDB.
        var owner = Assert.Throws<AuthzException>(() => engine.Add(Relationship.Parse("doc:d#owner@user:cat[expiration:2030-02-01T00:00:00Z]")));
        Assert.Contains("does not allow subjects of type 'user with expiration'", owner.Message, StringComparison.Ordinal);
        var viewer = Assert.Throws<AuthzException>(() => engine.Add(Relationship.Parse("doc:d#viewer@user:cat")));
        Assert.Contains("does not allow subjects of type 'user'", viewer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Exclusion_RemovesAccessGrantedThroughInheritance()
    {
        using var engine = NewEngine(
            "organization:acme#owner@user:olivia",
            "folder:root#organization@organization:acme",
            "folder:child#parent@folder:root",
            "folder:child#banned@user:olivia");

        Assert.True(Check(engine, "folder:root", "view", "user:olivia"));
        Assert.False(Check(engine, "folder:child", "view", "user:olivia"));
    }

    [Fact]
    public void PermissionSubjectSet_IsEvaluated()
    {
        using var engine = NewEngine("organization:acme#owner@user:olivia", "folder:f#viewer@organization:acme#admin");

        Assert.True(Check(engine, "folder:f", "view", "user:olivia"));
        Assert.False(Check(engine, "folder:f", "view", "user:bob"));
    }

    [Fact]
    public void CycleInWalkedRelations_AnswersWithAnError_NeverAnAllow()
    {
        using var engine = NewEngine("folder:a#parent@folder:b", "folder:b#parent@folder:a");

        var error = Assert.Throws<AuthzException>(() => Check(engine, "folder:a", "view", "user:mallory"));

        Assert.Equal(AuthzErrorKind.DepthExceeded, error.Kind);
        Assert.Contains("deeper than 50", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepChain_WithinTheBudget_IsAnswered_BeyondIt_IsAnError()
    {
        using var engine = NewEngine([.. Enumerable.Range(1, 60).Select(i => $"folder:f{i}#parent@folder:f{i - 1}"), "folder:f0#viewer@user:root"]);

        Assert.True(Check(engine, "folder:f40", "view", "user:root"));
        Assert.Equal(AuthzErrorKind.DepthExceeded, Assert.Throws<AuthzException>(() => Check(engine, "folder:f60", "view", "user:root")).Kind);
    }

    [Fact]
    public void Ancestors_AreKeptCurrent_AsParentsChange()
    {
        using var engine = NewEngine("folder:c#parent@folder:b", "folder:b#parent@folder:a", "folder:a#organization@organization:acme");

        Assert.Equal(["folder:a", "folder:b", "organization:acme"], engine.Ancestors(ObjectRef.Parse("folder:c")).Select(o => o.ToString()).Order());

        engine.Write([
            new RelationshipUpdate(RelationshipOperation.Delete, Relationship.Parse("folder:b#parent@folder:a")),
            new RelationshipUpdate(RelationshipOperation.Touch, Relationship.Parse("folder:b#parent@folder:x")),
        ]);

        Assert.Equal(["folder:b", "folder:x"], engine.Ancestors(ObjectRef.Parse("folder:c")).Select(o => o.ToString()).Order());
    }

    [Fact]
    public void IncrementalClosures_EqualClosuresRebuiltFromScratch_AfterRandomWrites()
    {
        var random = new Random(7);
        using var engine = NewEngine();
        for (var step = 0; step < 2000; step++)
        {
            var a = random.Next(12);
            var b = random.Next(12);
            var relationship = random.Next(2) == 0
                ? Relationship.Parse($"group:g{a}#member@group:g{b}#member")
                : Relationship.Parse($"folder:f{a}#parent@folder:f{b}");
            if (random.Next(3) == 0)
            {
                engine.Remove(relationship);
            }
            else
            {
                engine.Add(relationship);
            }

            if (step % 100 == 0)
            {
                using var rebuilt = NewEngine([.. engine.ReadAll().Select(r => r.ToString())]);
                for (var i = 0; i < 12; i++)
                {
                    Assert.Equal(
                        rebuilt.Memberships(SubjectRef.Parse($"group:g{i}#member")).Select(s => s.ToString()).Order(),
                        engine.Memberships(SubjectRef.Parse($"group:g{i}#member")).Select(s => s.ToString()).Order());
                    Assert.Equal(
                        rebuilt.Ancestors(ObjectRef.Parse($"folder:f{i}")).Select(s => s.ToString()).Order(),
                        engine.Ancestors(ObjectRef.Parse($"folder:f{i}")).Select(s => s.ToString()).Order());
                }
            }
        }
    }

    [Fact]
    public void Write_WithOneInvalidUpdate_ChangesNothing()
    {
        using var engine = NewEngine("folder:f#viewer@user:alice");
        var revision = engine.Revision;

        var error = Assert.Throws<AuthzException>(() => engine.Write([
            new RelationshipUpdate(RelationshipOperation.Delete, Relationship.Parse("folder:f#viewer@user:alice")),
            new RelationshipUpdate(RelationshipOperation.Touch, Relationship.Parse("folder:f#viewer@organization:acme")),
        ]));

        Assert.Equal(AuthzErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("does not allow subjects of type 'organization'", error.Message, StringComparison.Ordinal);
        Assert.Equal(revision, engine.Revision);
        Assert.True(Check(engine, "folder:f", "view", "user:alice"));
    }

    [Theory]
    [InlineData("nothing:x#viewer@user:a", "resource type 'nothing' is not defined")]
    [InlineData("folder:x#view@user:a", "is a permission")]
    [InlineData("folder:x#owner@user:a", "'owner' is not a relation of 'folder'")]
    [InlineData("folder:x#viewer@robot:a", "subject type 'robot' is not defined")]
    [InlineData("folder:x#viewer@group:g#owner", "'owner' is not a relation or permission of 'group'")]
    [InlineData("folder:x#banned@user:*", "does not allow subjects of type 'user:*'")]
    [InlineData("folder:x#viewer@group:g", "does not allow subjects of type 'group'")]
    public void Write_RelationshipTheSchemaDoesNotAllow_IsInvalid(string relationship, string message)
    {
        using var engine = NewEngine();

        var error = Assert.Throws<AuthzException>(() => engine.Add(Relationship.Parse(relationship)));

        Assert.Equal(AuthzErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(0, engine.RelationshipCount);
    }

    [Fact]
    public void Create_OfAStoredRelationship_IsAlreadyExists_TouchIsNot()
    {
        using var engine = NewEngine("folder:f#viewer@user:alice");
        var update = Relationship.Parse("folder:f#viewer@user:alice");

        Assert.Equal(AuthzErrorKind.AlreadyExists, Assert.Throws<AuthzException>(() => engine.Write([new RelationshipUpdate(RelationshipOperation.Create, update)])).Kind);
        engine.Write([new RelationshipUpdate(RelationshipOperation.Touch, update)]);
        Assert.Equal(1, engine.RelationshipCount);
    }

    [Fact]
    public void Revision_AdvancesOnlyWhenSomethingChanges()
    {
        using var engine = NewEngine();

        var first = engine.Add(Relationship.Parse("folder:f#viewer@user:alice"));
        var again = engine.Add(Relationship.Parse("folder:f#viewer@user:alice"));
        var removed = engine.Remove(Relationship.Parse("folder:f#viewer@user:alice"));

        Assert.Equal(first, again);
        Assert.Equal(first + 1, removed);
    }

    [Theory]
    [InlineData("nothing:x", "view", "user:a", "type 'nothing' is not defined")]
    [InlineData("folder:x", "edit", "user:a", "'edit' is not a relation or permission of 'folder'")]
    [InlineData("folder:x", "view", "robot:a", "type 'robot' is not defined")]
    [InlineData("folder:x", "view", "user:*", "a wildcard cannot be the subject")]
    [InlineData("folder:x", "view", "group:g#nope", "'nope' is not a relation or permission of 'group'")]
    public void Check_NamesTheSchemaDoesNotDefine_AreInvalid(string resource, string permission, string subject, string message)
    {
        using var engine = NewEngine();

        var error = Assert.Throws<AuthzException>(() => Check(engine, resource, permission, subject));

        Assert.Equal(AuthzErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_ShowsThePathThatGrants()
    {
        using var engine = NewEngine(
            "organization:acme#owner@user:olivia",
            "folder:root#organization@organization:acme",
            "folder:child#parent@folder:root");

        var explanation = engine.Explain(ObjectRef.Parse("folder:child"), "view", SubjectRef.Parse("user:olivia"));
        var text = explanation.ToString();

        Assert.True(explanation.Result);
        Assert.Contains("[+] parent->view", text, StringComparison.Ordinal);
        Assert.Contains("[+] organization->admin", text, StringComparison.Ordinal);
        Assert.Contains("[+] organization:acme#owner (direct)", text, StringComparison.Ordinal);
        Assert.Contains("[-] folder:child#banned (no relationships)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_OfADenial_SaysWhyEachBranchFailed()
    {
        using var engine = NewEngine("folder:f#viewer@user:alice", "folder:f#banned@user:alice");

        var explanation = engine.Explain(ObjectRef.Parse("folder:f"), "view", SubjectRef.Parse("user:alice"));

        Assert.False(explanation.Result);
        Assert.Contains("[+] folder:f#banned (direct)", explanation.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LookupResources_FindsInheritedAndGroupGrants()
    {
        using var engine = NewEngine(
            "organization:acme#owner@user:olivia",
            "folder:root#organization@organization:acme",
            "folder:child#parent@folder:root",
            "folder:other#viewer@group:eng#member",
            "group:eng#member@user:olivia",
            "folder:hidden#viewer@user:bob");

        var found = engine.LookupResources("folder", "view", SubjectRef.Parse("user:olivia")).Resources.Select(o => o.Id);

        Assert.Equal(["child", "other", "root"], found);
    }

    [Fact]
    public void LookupSubjects_ListsMembersAndWildcardWithExclusions()
    {
        using var engine = NewEngine(
            "group:eng#member@user:alice",
            "folder:f#viewer@user:*",
            "folder:f#viewer@group:eng#member",
            "folder:f#banned@user:mallory");

        var lookup = engine.LookupSubjects(ObjectRef.Parse("folder:f"), "view", "user");

        Assert.Equal(["user:*", "user:alice"], lookup.Subjects.Select(s => s.ToString()).Order());
        Assert.Equal(["user:mallory"], lookup.ExcludedFromWildcard.Select(s => s.ToString()));
    }

    [Fact]
    public void LookupSubjects_Paged_PutsTheWildcardWithItsExclusionsOnTheFirstPage()
    {
        using var engine = NewEngine(
            "group:eng#member@user:alice",
            "group:eng#member@user:bob",
            "folder:f#viewer@user:*",
            "folder:f#viewer@group:eng#member",
            "folder:f#banned@user:mallory");
        var folder = ObjectRef.Parse("folder:f");

        var first = engine.LookupSubjects(folder, "view", "user", afterId: null, limit: 1);
        var second = engine.LookupSubjects(folder, "view", "user", afterId: "*", limit: 1);
        var third = engine.LookupSubjects(folder, "view", "user", afterId: "alice", limit: 1);
        var last = engine.LookupSubjects(folder, "view", "user", afterId: "bob", limit: 1);

        Assert.Equal(["user:*"], first.Subjects.Select(s => s.ToString()));
        Assert.Equal(["user:mallory"], first.ExcludedFromWildcard.Select(s => s.ToString()));
        Assert.Equal(["user:alice"], second.Subjects.Select(s => s.ToString()));
        Assert.Empty(second.ExcludedFromWildcard);
        Assert.Equal(["user:bob"], third.Subjects.Select(s => s.ToString()));
        Assert.Empty(last.Subjects);
    }

    [Fact]
    public void LookupResources_AfterAnIdNotStored_StartsAtTheNextIdInOrdinalOrder()
    {
        using var engine = NewEngine("folder:a#viewer@user:olivia", "folder:B#viewer@user:olivia", "folder:c#viewer@user:olivia");

        var found = engine.LookupResources("folder", "view", SubjectRef.Parse("user:olivia"), afterId: "a0", limit: 0).Resources.Select(o => o.Id);

        // Ordinal: "B" < "a" < "a0" < "c".
        Assert.Equal(["c"], found);
    }

    [Fact]
    public void Check_OnASubjectSetItself_IsAllowed_EvenIfNeverStored()
    {
        using var engine = NewEngine();

        Assert.True(Check(engine, "group:eng", "member", "group:eng#member"));
        Assert.False(Check(engine, "group:eng", "member", "group:ops#member"));
    }

    [Fact]
    public async Task ConcurrentReadsAndWrites_NeverSeeAHalfAppliedBatch()
    {
        using var engine = NewEngine("folder:f#viewer@user:a");
        RelationshipUpdate[] Swap(string from, string to) =>
        [
            new(RelationshipOperation.Delete, Relationship.Parse($"folder:f#viewer@user:{from}")),
            new(RelationshipOperation.Touch, Relationship.Parse($"folder:f#viewer@user:{to}")),
        ];
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 5000; i++)
            {
                engine.Write(i % 2 == 0 ? Swap("a", "b") : Swap("b", "a"));
            }
        });

        var reads = 0;
        while (!writer.IsCompleted && reads < 1_000_000)
        {
            // One read sees both relationships: after every batch exactly one of a and b is a viewer.
            var viewers = engine.LookupSubjects(ObjectRef.Parse("folder:f"), "view", "user").Subjects;
            Assert.Single(viewers);
            reads++;
        }

        await writer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(reads > 0);
    }

    [Fact]
    public void Write_WithAnAssignedRevision_TakesIt_AndRefusesAnOlderOne()
    {
        using var engine = NewEngine();

        var revision = engine.Write([new RelationshipUpdate(RelationshipOperation.Touch, Relationship.Parse("folder:f#viewer@user:a"))], revision: 41);

        Assert.Equal(41, revision);
        Assert.Equal(41, engine.Revision);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Write([new RelationshipUpdate(RelationshipOperation.Touch, Relationship.Parse("folder:f#viewer@user:b"))], revision: 41));
        Assert.False(Check(engine, "folder:f", "view", "user:b"));
    }

    [Fact]
    public void Validate_ThrowsWhatWriteWould_AndChangesNothing()
    {
        using var engine = NewEngine("folder:f#viewer@user:a");

        Assert.Equal(AuthzErrorKind.AlreadyExists, Assert.Throws<AuthzException>(() => engine.Validate([new RelationshipUpdate(RelationshipOperation.Create, Relationship.Parse("folder:f#viewer@user:a"))])).Kind);
        engine.Validate([new RelationshipUpdate(RelationshipOperation.Create, Relationship.Parse("folder:f#viewer@user:b"))]);
        Assert.False(Check(engine, "folder:f", "view", "user:b"));
    }

    [Fact]
    public void Read_ByEveryKindOfFilter_EqualsFilteringEverything()
    {
        using var engine = NewEngine(
            "group:eng#member@user:alice",
            "group:eng#member@group:ops#member",
            "folder:c#viewer@user:*",
            "folder:a#viewer@user:alice",
            "folder:a#viewer@group:eng#member",
            "folder:a#banned@user:bob",
            "folder:b#viewer@group:ops#member",
            "folder:b#parent@folder:a",
            "organization:acme#owner@user:alice");
        var filters = new RelationshipFilter[]
        {
            new("folder"),
            new("folder", "a"),
            new("folder", "a", "viewer"),
            new("folder", null, "viewer"),
            new("folder", null, null, new SubjectFilter("user", "alice")),
            new("folder", null, null, new SubjectFilter("group", "eng")),
            new("folder", null, null, new SubjectFilter("group", "ops", "member")),
            new("folder", null, null, new SubjectFilter("group")),
            new("folder", null, null, new SubjectFilter("user", "*")),
            new("group", null, "member", new SubjectFilter("user", null, string.Empty)),
            new("folder", "missing"),
            new("nothing"),
        };

        foreach (var filter in filters)
        {
            var expected = engine.ReadAll().Where(filter.Matches).Select(r => r.ToString()).Order();
            Assert.Equal(expected, engine.Read(filter).Select(r => r.ToString()).Order());
        }

        Assert.Equal(["folder:a#viewer@user:alice"], engine.Read(new RelationshipFilter("folder", null, null, new SubjectFilter("user", "alice"))).Select(r => r.ToString()));
    }
}
