using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.Core;
using AuthzGrpc.Cache;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Services;

/// <summary>
/// authz.v1.AuthorizationService: validate, call Core, map. Check and BatchCheck are answered from the shared graph
/// when it is configured and usable (<see cref="RedisGraph"/>: the near cache, then Redis), otherwise — Redis down,
/// slow, rebuilding, behind the token, or <c>fully_consistent</c> — from the in-process <see cref="PermissionEngine"/>
/// in force (<see cref="EngineHolder"/>, read once per call), which EngineSync keeps in step with the source of truth.
/// The other reads use the engine. A check with a context (R25) is a management check: it is answered from the engine
/// by <see cref="ManagementCheck"/>, which runs the planner the ManagementService call would run.
/// Engine errors (<see cref="AuthzException"/>) are turned into statuses by <see cref="ErrorInterceptor"/>.
/// The requests' <c>consistency</c> picks the engine revision to answer at (<see cref="EngineSync.EngineForAsync"/>):
/// <c>minimize_latency</c> answers from the engine as it is, without a store call; <c>at_least</c> and
/// <c>fully_consistent</c> first catch the engine up with what other replicas committed. Watch streams the store's
/// change log (<see cref="StoreLogFollower"/>).
/// </summary>
internal sealed class AuthorizationGrpcService(
    EngineSync sync, EngineHolder holder, SharedGraph shared, AuthzStore store, IOptions<AuthzOptions> options,
    StoreLogFollower follower, AuthzMetrics metrics)
    : AuthorizationService.AuthorizationServiceBase
{
    private readonly int _maxBatchCheckItems = options.Value.MaxBatchCheckItems;
    private readonly int _maxLookupLimit = options.Value.MaxLookupLimit;
    private readonly int _evaluationBudget = options.Value.EvaluationBudget;

    // The last revision formatted, so a check at an unchanged revision does not format it again.
    private FormattedRevision _revision = new(-1, string.Empty);

    // Check and BatchCheck are measured around the whole call, whatever answers it: the duration, and the decision or
    // the failure (AuthzMetrics). The answering itself is DecideCheckAsync and DecideBatchCheckAsync.
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        Task<CheckResponse> answer;
        try
        {
            answer = DecideCheckAsync(request, context);
        }
        catch
        {
            metrics.RecordCheckFailed(CheckRpc.Check, request.Consistency, started);
            throw;
        }

        if (answer.IsCompletedSuccessfully)
        {
            metrics.RecordCheck(CheckRpc.Check, request.Consistency, answer.Result.Decision, started);
            return answer;
        }

        return MeasureCheckAsync(answer, request.Consistency, started);
    }

    public override async Task<BatchCheckResponse> BatchCheck(BatchCheckRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await DecideBatchCheckAsync(request, context).ConfigureAwait(false);
            metrics.RecordBatchCheck(request.Consistency, response.Results, started);
            return response;
        }
        catch
        {
            metrics.RecordCheckFailed(CheckRpc.BatchCheck, request.Consistency, started);
            throw;
        }
    }

    private Task<CheckResponse> DecideCheckAsync(CheckRequest request, ServerCallContext context)
    {
        if (RequestValidation.Check(request.Subject, request.Action, request.Resource) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        // A management check (R25) is answered by the management rules, never from the graph; an ordinary check keeps
        // the paths below, for which this costs one null test.
        if (request.Context is { } management)
        {
            return ManagementCheckAsync(request, management, context.CancellationToken);
        }

        if (shared.Graph is { } graph && GraphCanServe(request.Consistency, out var atLeast))
        {
            // A near-cache hit completes here: no network hop, no allocation beyond the response.
            var schema = holder.Current.Schema;
            var target = Resolve(schema, request);
            var subjectId = request.Subject.Object.Id;
            return graph.TryCheckNear(schema, in target, request.Resource.Id, subjectId, atLeast, _evaluationBudget, out var allowed, out var revision)
                ? Task.FromResult(new CheckResponse { Decision = ProtoMapping.ToDecision(allowed), Revision = RevisionText(revision) })
                : CheckGraphAsync(graph, schema, target, request, atLeast, context.CancellationToken);
        }

        // minimize_latency (and a token the engine has reached) completes synchronously: no store call, no allocation
        // beyond the response.
        var pending = sync.EngineForAsync(request.Consistency, context.CancellationToken);
        return pending.IsCompletedSuccessfully
            ? Task.FromResult(Answer(pending.Result, request, context.CancellationToken))
            : CheckAsync(pending, request, context.CancellationToken);
    }

    private async Task<BatchCheckResponse> DecideBatchCheckAsync(BatchCheckRequest request, ServerCallContext context)
    {
        var items = request.Items;
        if (items.Count > _maxBatchCheckItems)
        {
            RequestValidation.Throw(RequestValidation.Violation(
                "items", $"has {items.Count} checks; the limit is {_maxBatchCheckItems} (Authz:MaxBatchCheckItems): split the batch"));
        }

        // Validate every item before evaluating any: a malformed batch is rejected whole. Items with a context are
        // management checks (R25), answered by the management rules from the engine, never from the graph.
        ManagementQuestion?[]? questions = null;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            ManagementQuestion? question = null;
            if ((RequestValidation.Check(item.Subject, item.Action, item.Resource)
                 ?? (item.Context is { } management ? RequestValidation.ContextCheck(item.Subject, item.Action, item.Resource, management, out question) : null)) is { } violation)
            {
                violation.Field = $"items[{i}].{violation.Field}";
                RequestValidation.Throw(violation);
            }

            if (question is not null)
            {
                (questions ??= new ManagementQuestion?[items.Count])[i] = question;
            }
        }

        long? atLeast = null;
        var graph = shared.Graph is { } configured && GraphCanServe(request.Consistency, out atLeast) ? configured : null;
        var schema = holder.Current.Schema;
        var answers = new GraphAnswer[items.Count];

        // Near-cache hits first; the misses then go to Redis together, so a cold batch costs the round trips of its
        // slowest check, not their sum.
        if (graph is not null)
        {
            var misses = new List<Task>();
            for (var i = 0; i < items.Count; i++)
            {
                if (questions?[i] is not null)
                {
                    continue;
                }

                var target = Named(i, () => Resolve(schema, items[i]));
                var subjectId = items[i].Subject.Object.Id;
                if (graph.TryCheckNear(schema, in target, items[i].Resource.Id, subjectId, atLeast, _evaluationBudget, out var near, out var nearRevision))
                {
                    answers[i] = new GraphAnswer(true, near, nearRevision);
                }
                else
                {
                    misses.Add(FetchAsync(i, target, subjectId));
                }
            }

            await Task.WhenAll(misses).ConfigureAwait(false);
        }

        // What the graph did not answer, the source of truth does.
        PermissionEngine? engine = null;
        for (var i = 0; i < items.Count; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            if (!answers[i].Served)
            {
                engine ??= await sync.EngineForAsync(request.Consistency, context.CancellationToken).ConfigureAwait(false);
                var question = questions?[i];
                answers[i] = new GraphAnswer(
                    true, Named(i, () => question is null ? Evaluate(engine, items[i], context.CancellationToken) : Judge(engine, question).Allowed), engine.Revision);
            }
        }

        // Every answer reflects at least the oldest revision any of them was answered at.
        var revision = RevisionText(answers.Length == 0 ? holder.Current.Revision : answers.Min(a => a.Revision));
        var response = new BatchCheckResponse { Revision = revision };
        foreach (var answer in answers)
        {
            response.Results.Add(new CheckResponse { Decision = ProtoMapping.ToDecision(answer.Allowed), Revision = revision });
        }

        return response;

        async Task FetchAsync(int index, CheckTarget target, string subjectId)
        {
            try
            {
                answers[index] = await graph.CheckAsync(
                    schema, target, items[index].Resource.Id, subjectId, atLeast, _evaluationBudget, context.CancellationToken).ConfigureAwait(false);
            }
            catch (AuthzException e)
            {
                throw Name(index, e);
            }
        }
    }

    // Names the item of a batch an error is about: "items[3]: type 'projekt' is not defined in the schema".
    private static T Named<T>(int index, Func<T> evaluate)
    {
        try
        {
            return evaluate();
        }
        catch (AuthzException e)
        {
            throw Name(index, e);
        }
    }

    private static AuthzException Name(int index, AuthzException e) => new(e.Kind, $"items[{index}]: {e.Message}");

    public override async Task<ExplainResponse> Explain(ExplainRequest request, ServerCallContext context)
    {
        ManagementQuestion? question = null;
        if ((RequestValidation.Check(request.Subject, request.Action, request.Resource)
             ?? (request.Context is { } management ? RequestValidation.ContextCheck(request.Subject, request.Action, request.Resource, management, out question) : null)) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var engine = await sync.EngineForAsync(request.Consistency, context.CancellationToken).ConfigureAwait(false);
        var revision = CurrentRevision(engine);
        if (question is not null)
        {
            // The management rules are not a graph: the explanation is the verdict, with the rule that refuses the call.
            var verdict = Judge(engine, question);
            return new ExplainResponse
            {
                Decision = ProtoMapping.ToDecision(verdict.Allowed),
                Root = new ExplainStep { Step = question.Step, Result = verdict.Allowed, Reason = verdict.Reason },
                Revision = revision,
            };
        }

        var root = engine.Explain(ProtoMapping.ToModel(request.Resource), request.Action, ProtoMapping.ToModel(request.Subject), context.CancellationToken);
        return new ExplainResponse
        {
            Decision = ProtoMapping.ToDecision(root.Result),
            Root = ProtoMapping.ToProto(root),
            Revision = revision,
        };
    }

    public override async Task LookupResources(
        LookupResourcesRequest request, IServerStreamWriter<LookupResourcesResponse> responseStream, ServerCallContext context)
    {
        if (RequestValidation.LookupResources(request, _maxLookupLimit) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var page = await StartPageAsync(
            LookupCursor.RequestHash(request), request.Cursor, wildcardAllowed: false, request.Consistency, context.CancellationToken).ConfigureAwait(false);
        var resources = page.Engine.LookupResources(
            request.ResourceType, request.Action, ProtoMapping.ToModel(request.Subject), page.AfterId, (int)request.Limit, context.CancellationToken);
        foreach (var resource in resources)
        {
            await responseStream.WriteAsync(
                new LookupResourcesResponse
                {
                    Resource = ProtoMapping.ToProto(resource),
                    Revision = page.RevisionText,
                    AfterResultCursor = page.CursorAfter(resource.Id),
                },
                context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task LookupSubjects(
        LookupSubjectsRequest request, IServerStreamWriter<LookupSubjectsResponse> responseStream, ServerCallContext context)
    {
        if (RequestValidation.LookupSubjects(request, _maxLookupLimit) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var page = await StartPageAsync(
            LookupCursor.RequestHash(request), request.Cursor, wildcardAllowed: true, request.Consistency, context.CancellationToken).ConfigureAwait(false);
        var lookup = page.Engine.LookupSubjects(
            ProtoMapping.ToModel(request.Resource), request.Action, request.SubjectType, page.AfterId, (int)request.Limit, context.CancellationToken);
        foreach (var subject in lookup.Subjects)
        {
            var response = new LookupSubjectsResponse
            {
                Subject = ProtoMapping.ToProto(subject),
                Revision = page.RevisionText,
                AfterResultCursor = page.CursorAfter(subject.Id),
            };
            if (subject.IsWildcard)
            {
                foreach (var excluded in lookup.ExcludedFromWildcard)
                {
                    response.ExcludedSubjects.Add(ProtoMapping.ToProto(excluded));
                }
            }

            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Streams every revision committed after <c>after_revision</c> (empty: after the newest now), in order, each with
    /// the relationships it changed, from the store's change log; then waits for new ones (woken by this process's
    /// writes and catch-ups, and polling every <see cref="AuthzOptions.SyncIntervalMilliseconds"/> for other replicas')
    /// until the client cancels or the server stops.
    /// </summary>
    public override Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context) =>
        follower.FollowAsync(
            context,
            async cancellationToken =>
            {
                var committed = await store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
                if (request.AfterRevision.Length == 0)
                {
                    return committed;
                }

                var after = EngineSync.ParseRevision(request.AfterRevision, "after_revision");
                return after <= committed
                    ? after
                    : throw new AuthzException(
                        AuthzErrorKind.FailedPrecondition,
                        $"after_revision: revision {after} is not committed (the newest is {committed}): pass a revision a write or a check returned");
            },
            (after, limit, cancellationToken) => store.ReadChangesAsync(after, limit, cancellationToken),
            async (changes, cancellationToken) =>
            {
                var response = new WatchResponse { Revision = changes.Revision.ToString(CultureInfo.InvariantCulture) };
                foreach (var change in changes.Changes)
                {
                    response.Updates.Add(RelationshipMapping.ToUpdate(change));
                }

                await responseStream.WriteAsync(response, cancellationToken).ConfigureAwait(false);
                return changes.Revision;
            });

    // Unset and minimize_latency: the near cache as it is; at_least: a token (parsed here, so a malformed one is
    // INVALID_ARGUMENT whichever path answers). fully_consistent needs the store's newest revision: the engine path.
    private static bool GraphCanServe(Consistency? consistency, out long? atLeast)
    {
        atLeast = null;
        switch (consistency?.RequirementCase)
        {
            case Consistency.RequirementOneofCase.AtLeast:
                atLeast = EngineSync.ParseRevision(consistency.AtLeast, "consistency.at_least");
                return true;
            case Consistency.RequirementOneofCase.FullyConsistent:
                return !consistency.FullyConsistent;
            default:
                return true;
        }
    }

    private static CheckTarget Resolve(CompiledSchema schema, CheckRequest request)
    {
        var subject = request.Subject;
        return RecordEvaluator.Resolve(
            schema, request.Resource.Type, request.Action, subject.Object.Type, subject.Object.Id, subject.Relation.Length == 0 ? null : subject.Relation);
    }

    private async Task<CheckResponse> CheckGraphAsync(
        RedisGraph graph, CompiledSchema schema, CheckTarget target, CheckRequest request, long? atLeast, CancellationToken cancellationToken)
    {
        var answer = await graph.CheckAsync(
            schema, target, request.Resource.Id, request.Subject.Object.Id, atLeast, _evaluationBudget, cancellationToken).ConfigureAwait(false);
        if (answer.Served)
        {
            return new CheckResponse { Decision = ProtoMapping.ToDecision(answer.Allowed), Revision = RevisionText(answer.Revision) };
        }

        // Not from the graph (unavailable, behind the token, rebuilding): the source of truth, caught up as asked.
        return Answer(await sync.EngineForAsync(request.Consistency, cancellationToken).ConfigureAwait(false), request, cancellationToken);
    }

    private async Task<CheckResponse> MeasureCheckAsync(Task<CheckResponse> answer, Consistency? consistency, long started)
    {
        try
        {
            var response = await answer.ConfigureAwait(false);
            metrics.RecordCheck(CheckRpc.Check, consistency, response.Decision, started);
            return response;
        }
        catch
        {
            metrics.RecordCheckFailed(CheckRpc.Check, consistency, started);
            throw;
        }
    }

    // Reads a lookup's cursor (INVALID_ARGUMENT when it is not one of this request's) and picks the engine to answer the
    // page from.
    private async Task<LookupPage> StartPageAsync(
        string requestHash, string cursor, bool wildcardAllowed, Consistency? requested, CancellationToken cancellationToken)
    {
        var start = LookupCursor.Decode(cursor, requestHash, wildcardAllowed);
        var engine = await EngineForPageAsync(requested, start, cancellationToken).ConfigureAwait(false);

        // Read before evaluating: the page reflects at least this revision, and its cursors carry it.
        return new LookupPage(engine, engine.Revision, requestHash, start?.AfterId);
    }

    // The engine for a lookup page: as the request's consistency asks, and, when resuming, at least at the revision the
    // cursor carries — so a page never answers from an older state than the page before it. A cursor revision the store
    // has not committed is the cursor's fault (another deployment's), not a consistency token's.
    private async Task<PermissionEngine> EngineForPageAsync(Consistency? requested, LookupCursor.Position? start, CancellationToken cancellationToken)
    {
        if (start is not { } position)
        {
            return await sync.EngineForAsync(requested, cancellationToken).ConfigureAwait(false);
        }

        var cursorDecides = requested?.RequirementCase switch
        {
            Consistency.RequirementOneofCase.FullyConsistent => !requested.FullyConsistent,
            Consistency.RequirementOneofCase.AtLeast => EngineSync.ParseRevision(requested.AtLeast, "consistency.at_least") < position.Revision,
            _ => true,
        };
        if (!cursorDecides)
        {
            return await sync.EngineForAsync(requested, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var atCursor = new Consistency { AtLeast = position.Revision.ToString(CultureInfo.InvariantCulture) };
            return await sync.EngineForAsync(atCursor, cancellationToken).ConfigureAwait(false);
        }
        catch (AuthzException e) when (e.Kind == AuthzErrorKind.FailedPrecondition)
        {
            throw LookupCursor.NotCommitted(position.Revision);
        }
    }

    // A check with a context: validated, then judged by the management rules on the engine the consistency asks for.
    private async Task<CheckResponse> ManagementCheckAsync(CheckRequest request, CheckContext management, CancellationToken cancellationToken)
    {
        if (RequestValidation.ContextCheck(request.Subject, request.Action, request.Resource, management, out var question) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var engine = await sync.EngineForAsync(request.Consistency, cancellationToken).ConfigureAwait(false);
        var revision = CurrentRevision(engine);
        return new CheckResponse { Decision = ProtoMapping.ToDecision(Judge(engine, question!).Allowed), Revision = revision };
    }

    // What ManagementService would answer the question's caller now, from the planner the call itself runs.
    private static ManagementVerdict Judge(PermissionEngine engine, ManagementQuestion question) =>
        new ManagementCheck(engine).Judge(question.Caller, question.Action, question.Resource, question.Role, question.Target);

    private async Task<CheckResponse> CheckAsync(ValueTask<PermissionEngine> pending, CheckRequest request, CancellationToken cancellationToken) =>
        Answer(await pending.ConfigureAwait(false), request, cancellationToken);

    private CheckResponse Answer(PermissionEngine engine, CheckRequest request, CancellationToken cancellationToken)
    {
        var revision = CurrentRevision(engine);
        return new CheckResponse { Decision = ProtoMapping.ToDecision(Evaluate(engine, request, cancellationToken)), Revision = revision };
    }

    // The hot path: the engine's string overload, no intermediate model objects. The evaluation stops when the call is
    // cancelled or its deadline passes (the call's token), or the server stops (the engine's shutdown token).
    private static bool Evaluate(PermissionEngine engine, CheckRequest request, CancellationToken cancellationToken)
    {
        var subject = request.Subject;
        var resource = request.Resource;
        return engine.Check(
            resource.Type, resource.Id, request.Action,
            subject.Object.Type, subject.Object.Id, subject.Relation.Length == 0 ? null : subject.Relation, cancellationToken);
    }

    // Read before evaluating: the answer reflects at least this revision.
    private string CurrentRevision(PermissionEngine engine) => RevisionText(engine.Revision);

    private string RevisionText(long revision)
    {
        var cached = Volatile.Read(ref _revision);
        if (cached.Revision != revision)
        {
            cached = new FormattedRevision(revision, revision.ToString(CultureInfo.InvariantCulture));
            Volatile.Write(ref _revision, cached);
        }

        return cached.Text;
    }

    private sealed record FormattedRevision(long Revision, string Text);

    // One page of a lookup: the engine it is answered from, the revision read before evaluating, and where it starts.
    private sealed record LookupPage(PermissionEngine Engine, long Revision, string RequestHash, string? AfterId)
    {
        public string RevisionText { get; } = Revision.ToString(CultureInfo.InvariantCulture);

        public string CursorAfter(string id) => LookupCursor.Encode(Revision, RequestHash, id);
    }
}
