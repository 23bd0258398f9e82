using System.Text;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Reference;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// What one evaluation may cost, and the answers that do not depend on how a schema is written: sub-results are shared
/// within an evaluation (work counted against the budget, never timed), a check over its budget or cancelled stops and
/// never allows, a union allows whatever the order of its operands, and SpiceDB's operator precedence holds — in the
/// engine (Check, Explain, lookups) and in the shared graph's <see cref="RecordEvaluator"/> alike.
/// </summary>
public sealed class EvaluationCostTests
{
    // Each level names the one below three times: evaluated as written, a check costs 2^depth to 3^depth steps.
    private static string DoublingSchema(int depth)
    {
        var text = new StringBuilder("definition user {}\ndefinition doc {\n    relation r: user\n    permission p0 = r\n");
        for (var i = 1; i <= depth; i++)
        {
            text.Append("    permission p").Append(i).Append(" = (p").Append(i - 1).Append(" + p").Append(i - 1).Append(") & (p").Append(i - 1).Append(" + r)\n");
        }

        return text.Append("}\n").ToString();
    }

    // Linear in the depth: a step per level for p{i}, one shared look-up of p{i-1}, and r.
    // (Up to EvaluationState.MemoAfter first steps are not shared: a shallow check must not allocate a memo.)
    private static int LinearBudget(int depth) => (4 * depth) + (2 * EvaluationState<long>.MemoAfter);

    [Fact]
    public void DoublingSchema_UpToDepth40_AnswersWithinALinearBudget()
    {
        for (var depth = 1; depth <= 40; depth++)
        {
            using var engine = new PermissionEngine(CompiledSchema.Compile(DoublingSchema(depth))) { EvaluationBudget = LinearBudget(depth) };
            engine.Add(Relationship.Parse("doc:d#r@user:u"));
            var top = $"p{depth}";

            Assert.True(engine.Check(new ObjectRef("doc", "d"), top, new SubjectRef("user", "u")), $"depth {depth}");
            Assert.False(engine.Check(new ObjectRef("doc", "d"), top, new SubjectRef("user", "v")), $"depth {depth}");
            Assert.False(engine.Check(new ObjectRef("doc", "never_stored"), top, new SubjectRef("user", "u")), $"depth {depth}");
            Assert.True(engine.Explain(new ObjectRef("doc", "d"), top, new SubjectRef("user", "u")).Result);
            Assert.Equal(["d"], engine.LookupResources("doc", top, new SubjectRef("user", "u")).Resources.Select(o => o.Id));
            Assert.Equal(["u"], engine.LookupSubjects(new ObjectRef("doc", "d"), top, "user").Subjects.Select(s => s.Id));
            Assert.Equal(RecordCheckResult.Allowed, CheckRecords(engine, "doc:d", top, "user:u", LinearBudget(depth)));
            Assert.Equal(RecordCheckResult.Denied, CheckRecords(engine, "doc:d", top, "user:v", LinearBudget(depth)));
        }
    }

    [Fact]
    public void OverItsBudget_ACheckIsResourceExhausted_NeverAnAllow()
    {
        using var engine = new PermissionEngine(CompiledSchema.Compile(DoublingSchema(40))) { EvaluationBudget = 40 };
        engine.Add(Relationship.Parse("doc:d#r@user:u"));
        var doc = new ObjectRef("doc", "d");
        var user = new SubjectRef("user", "u");

        Assert.Equal(AuthzErrorKind.ResourceExhausted, Assert.Throws<AuthzException>(() => engine.Check(doc, "p40", user)).Kind);
        Assert.Equal(AuthzErrorKind.ResourceExhausted, Assert.Throws<AuthzException>(() => engine.Explain(doc, "p40", user)).Kind);
        Assert.Equal(AuthzErrorKind.ResourceExhausted, Assert.Throws<AuthzException>(() => engine.LookupResources("doc", "p40", user).Resources).Kind);
        Assert.Equal(AuthzErrorKind.ResourceExhausted, Assert.Throws<AuthzException>(() => engine.LookupSubjects(doc, "p40", "user")).Kind);
        Assert.Equal(AuthzErrorKind.ResourceExhausted, Assert.Throws<AuthzException>(() => CheckRecords(engine, "doc:d", "p40", "user:u", 40)).Kind);

        // Within the budget the same engine answers.
        Assert.True(engine.Check(doc, "p3", user));
    }

    [Fact]
    public void ACancelledCall_StopsItsEvaluation()
    {
        using var engine = new PermissionEngine(CompiledSchema.Compile(DoublingSchema(40)));
        engine.Add(Relationship.Parse("doc:d#r@user:u"));
        var doc = new ObjectRef("doc", "d");
        var user = new SubjectRef("user", "u");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => engine.Check(doc, "p40", user, cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => engine.Explain(doc, "p40", user, cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => engine.LookupResources("doc", "p40", user, cancellationToken: cancelled.Token).Resources);
        Assert.ThrowsAny<OperationCanceledException>(() => engine.LookupSubjects(doc, "p40", "user", cancellationToken: cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => CheckRecords(engine, "doc:d", "p40", "user:u", PermissionEngine.DefaultEvaluationBudget, cancelled.Token));

        // Not cancelled, the same check answers.
        Assert.True(engine.Check(doc, "p40", user));
    }

    [Fact]
    public void Precedence_ExclusionBindsLoosestAsInSpiceDb()
    {
        var schema = CompiledSchema.Compile("""
            definition user {}
            definition doc {
                relation aaa: user
                relation bbb: user
                relation ccc: user
                permission ppp = aaa - bbb & ccc
            }
            """);
        using var engine = new PermissionEngine(schema);
        var stored = new List<Relationship> { Relationship.Parse("doc:d#aaa@user:u"), Relationship.Parse("doc:d#bbb@user:u") };
        engine.Add(stored);

        // aaa - (bbb & ccc): u is in aaa and not in ccc, so not in bbb & ccc.
        Assert.True(engine.Check(new ObjectRef("doc", "d"), "ppp", new SubjectRef("user", "u")));
        Assert.True(new ReferenceEvaluator(schema.Syntax, stored).Check(new ObjectRef("doc", "d"), "ppp", new SubjectRef("user", "u")));
        Assert.Equal(RecordCheckResult.Allowed, CheckRecords(engine, "doc:d", "ppp", "user:u", PermissionEngine.DefaultEvaluationBudget));
    }

    [Theory]
    [InlineData("(editor->comment + nil) + editor", true)]
    [InlineData("editor + (editor->comment + nil)", true)]
    [InlineData("editor->comment + editor", true)]
    [InlineData("(editor->comment & editor) + editor", false)]
    public void AUnionWithAFinitePath_Allows_WhateverTheOrderOfItsOperands(string expression, bool undecidedWithoutAPath)
    {
        var schema = CompiledSchema.Compile($$"""
            definition user {}
            definition team {
                relation editor: team | user
                permission comment = {{expression}}
            }
            """);
        using var engine = new PermissionEngine(schema);
        var stored = new List<Relationship> { Relationship.Parse("team:t1#editor@team:t1"), Relationship.Parse("team:t1#editor@user:u0") };
        engine.Add(stored);
        var team = new ObjectRef("team", "t1");

        Assert.True(engine.Check(team, "comment", new SubjectRef("user", "u0")));
        Assert.True(engine.Explain(team, "comment", new SubjectRef("user", "u0")).Result);
        Assert.Equal(RecordCheckResult.Allowed, CheckRecords(engine, "team:t1", "comment", "user:u0", PermissionEngine.DefaultEvaluationBudget));
        Assert.True(new ReferenceEvaluator(schema.Syntax, stored).Check(team, "comment", new SubjectRef("user", "u0")));
        Assert.Equal(["t1"], engine.LookupResources("team", "comment", new SubjectRef("user", "u0")).Resources.Select(o => o.Id));

        // Without a finite path the cycle leaves the answer undecided — an error, never an allow — unless an operand
        // decides it regardless (an intersection with a false operand).
        if (undecidedWithoutAPath)
        {
            Assert.Equal(AuthzErrorKind.DepthExceeded, Assert.Throws<AuthzException>(() => engine.Check(team, "comment", new SubjectRef("user", "u1"))).Kind);
            Assert.Equal(AuthzErrorKind.DepthExceeded, Assert.Throws<AuthzException>(() => CheckRecords(engine, "team:t1", "comment", "user:u1", PermissionEngine.DefaultEvaluationBudget)).Kind);
        }
        else
        {
            Assert.False(engine.Check(team, "comment", new SubjectRef("user", "u1")));
        }
    }

    [Fact]
    public void AnExclusionOverACycle_IsAnError_NeverAnAllow()
    {
        var schema = CompiledSchema.Compile("""
            definition user {}
            definition folder {
                relation parent: folder
                relation viewer: user
                relation banned: user
                permission blocked = banned + parent->blocked
                permission view = viewer - blocked
            }
            """);
        using var engine = new PermissionEngine(schema);
        engine.Add(Relationship.Parse("folder:a#parent@folder:a"), Relationship.Parse("folder:a#viewer@user:u"));

        Assert.Equal(AuthzErrorKind.DepthExceeded, Assert.Throws<AuthzException>(() => engine.Check(new ObjectRef("folder", "a"), "view", new SubjectRef("user", "u"))).Kind);

        // Not a viewer: the exclusion is false whatever the cycle decides.
        Assert.False(engine.Check(new ObjectRef("folder", "a"), "view", new SubjectRef("user", "v")));
    }

    [Theory]
    [InlineData("(", "parentheses nest more than 32 deep")]
    [InlineData(" - ", "more than 256 operators")]
    [InlineData(" + ", "more than 256 operators")]
    public void AnExpressionTooDeepToEvaluateSafely_IsRefusedWithLineAndColumn(string shape, string message)
    {
        const int Size = 100_000;
        var expression = shape == "(" ? new string('(', Size) + "r" + new string(')', Size) : string.Join(shape, Enumerable.Repeat("r", Size));

        var error = Assert.Throws<SchemaException>(() => OnASmallStack(() => CompiledSchema.Compile(
            "definition user {}\ndefinition doc {\n    relation r: user\n    permission p = " + expression + "\n}\n")));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(4, error.Line);
    }

    [Fact]
    public void AChainOfPermissionsDeeperThanTheStackAllows_IsAnError_NotACrash()
    {
        // 5,000 permissions, each naming the one before on the same object: no arrow, so the depth limit alone never
        // stops it; evaluated as written it would nest 5,000 calls deep and overflow the stack, ending the process.
        var text = new StringBuilder("definition user {}\ndefinition doc {\n    relation r: user\n    permission p0 = r\n");
        for (var i = 1; i <= 5000; i++)
        {
            text.Append("    permission p").Append(i).Append(" = p").Append(i - 1).Append(" + r\n");
        }

        using var engine = new PermissionEngine(CompiledSchema.Compile(text.Append("}\n").ToString()));
        engine.Add(Relationship.Parse("doc:d#r@user:u"));
        var doc = new ObjectRef("doc", "d");

        // A decided operand still decides (r holds for u); for v nothing does, and the answer is an error.
        Assert.True(OnASmallStack(() => engine.Check(doc, "p5000", new SubjectRef("user", "u"))));
        Assert.Equal(AuthzErrorKind.DepthExceeded, Assert.Throws<AuthzException>(() => OnASmallStack(() => engine.Check(doc, "p5000", new SubjectRef("user", "v")))).Kind);
        Assert.Equal(RecordCheckResult.Allowed, OnASmallStack(() => CheckRecords(engine, "doc:d", "p5000", "user:u", PermissionEngine.DefaultEvaluationBudget)));
        Assert.Equal(AuthzErrorKind.DepthExceeded, Assert.Throws<AuthzException>(() => OnASmallStack(() => CheckRecords(engine, "doc:d", "p5000", "user:v", PermissionEngine.DefaultEvaluationBudget))).Kind);
    }

    // Runs on a thread with a 1 MiB stack (smaller than a thread-pool thread's), rethrowing what it throws.
    private static T OnASmallStack<T>(Func<T> run)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    result = run();
                }
                catch (Exception e)
                {
                    failure = e;
                }
            },
            1024 * 1024);
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return result!;
    }

    // A cold check over the records the engine would publish, fetched wave by wave as the shared graph does.
    private static RecordCheckResult CheckRecords(
        PermissionEngine engine, string resource, string permission, string subject, long budget, CancellationToken cancellationToken = default)
    {
        var schema = engine.Schema;
        var stored = engine.DescribeAllRecords().ToDictionary(r => (r.Type, r.Id), GraphRecordCodec.Encode);
        var resourceRef = ObjectRef.Parse(resource);
        var subjectRef = SubjectRef.Parse(subject);
        var target = RecordEvaluator.Resolve(schema, resourceRef.Type, permission, subjectRef.Type, subjectRef.Id, subjectRef.Relation);
        var view = new LoadedRecords();
        var missing = new List<RecordKey>();
        for (var wave = 0; wave < 20; wave++)
        {
            missing.Clear();
            var result = RecordEvaluator.Check(
                view, target.Permission, resourceRef.Id, target.SubjectType, subjectRef.Id, target.SubjectMember, missing,
                DateTimeOffset.UtcNow, PermissionEngine.DefaultMaxDepth, budget, cancellationToken);
            if (result != RecordCheckResult.Incomplete)
            {
                return result;
            }

            foreach (var key in missing)
            {
                var type = schema.Types[key.Type];
                view.Records[key] = stored.TryGetValue((type.Name, key.Id), out var bytes)
                    ? GraphRecordCodec.Decode(type, key.Id, bytes, schema)
                    : GraphRecord.Empty(type, key.Id, 0);
            }
        }

        return RecordCheckResult.Incomplete;
    }

    private sealed class LoadedRecords : IRecordView
    {
        public Dictionary<RecordKey, GraphRecord> Records { get; } = [];

        public GraphRecord? Find(in RecordKey key) => Records.GetValueOrDefault(key);
    }
}
