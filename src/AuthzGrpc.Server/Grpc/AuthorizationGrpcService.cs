using System.Diagnostics;
using System.Globalization;
using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Checks;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Reads;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.V1;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// authz.v1.AuthorizationService: validate (the request's <c>consistency</c> included, resolved into a
/// <see cref="ReadConsistency"/>), call the <see cref="ICheckDispatcher"/>, map. The dispatcher picks what answers —
/// the near cache, the shared graph in Redis, or the in-process engine caught up as the consistency asks — and fans
/// batches out. A check with a context (R25) is a management check, judged by the management rules.
/// Errors (<see cref="AuthzException"/>) are turned into statuses by <see cref="ErrorInterceptor"/>.
/// Watch streams the store's change log (<see cref="StoreLogFollower"/>).
/// On a check replica given a full replica's address (<see cref="FullReplicaForwarder"/>), what it cannot answer is
/// forwarded there whole, once the caller is authenticated here: a Check or BatchCheck with a management context, or
/// one the dispatcher refuses as UNIMPLEMENTED (a schema with caveats), and every Explain, lookup, Watch and WhoAmI.
/// </summary>
internal sealed class AuthorizationGrpcService(
    ICheckDispatcher dispatcher,
    ModelReader reader,
    IOptions<AuthzOptions> options,
    StoreLogFollower follower,
    AuthzMetrics metrics,
    FullReplicaForwarder forwarder,
    ILogger<AuthorizationGrpcService> logger)
    : AuthorizationService.AuthorizationServiceBase
{
    /// <summary>The source a decision log line names for a check with a context: the management rules, on the engine.</summary>
    internal const string ManagementSource = "management";

    /// <summary>
    /// The source a decision log line names for an ordinary check when a shared graph is configured: the near cache,
    /// Redis or the engine behind them (which layer answered is not passed back through the dispatcher).
    /// </summary>
    internal const string SharedGraphSource = "shared-graph";

    /// <summary>The source a decision log line names for an ordinary check with no shared graph: the engine.</summary>
    internal const string EngineSource = "engine";

    /// <summary>The source a decision log line names for an ordinary check on a check replica with no shared graph: records read from the database.</summary>
    internal const string DatabaseSource = "database";

    private readonly int _maxBatchCheckItems = options.Value.MaxBatchCheckItems;
    private readonly int _maxLookupLimit = options.Value.MaxLookupLimit;

    // Null but on a check replica that forwards: a full replica pays one null test for it.
    private readonly FullReplicaForwarder? _forwarder = forwarder.Enabled ? forwarder : null;
    private readonly string _checkSource = dispatcher switch
    {
        EngineCheckDispatcher => EngineSource,
        DatabaseCheckDispatcher => DatabaseSource,
        _ => SharedGraphSource,
    };

    // The last revision formatted, so a check at an unchanged revision does not format it again.
    private FormattedRevision _revision = new(-1, string.Empty);

    // Traced only while something listens to AuthzTracing (an OTLP exporter, a test): otherwise the hot path pays one
    // HasListeners test and keeps its synchronous completion.
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) =>
        AuthzTracing.Source.HasListeners() ? TracedCheckAsync(request, context) : MeasuredCheck(request, context);

    // In an async method, so the activity is Activity.Current for the call's continuations only, never for grpc-dotnet's.
    private async Task<CheckResponse> TracedCheckAsync(CheckRequest request, ServerCallContext context)
    {
        using var activity = AuthzTracing.Source.StartActivity("Check");
        activity?.SetTag(AuthzTracing.ActionTag, request.Action)
            .SetTag(AuthzTracing.ResourceTypeTag, request.Resource?.Type)
            .SetTag(AuthzTracing.SourceTag, DecisionSource(request.Context is not null));
        try
        {
            var response = await MeasuredCheck(request, context).ConfigureAwait(false);
            activity?.SetTag(AuthzTracing.DecisionTag, response.Decision.ToString()).SetTag(AuthzTracing.RevisionTag, response.Revision);
            return response;
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    // Check and BatchCheck are measured around the whole call, whatever answers it: the duration, and the decision or
    // the failure (AuthzMetrics). The answering itself is DecideCheckAsync and DecideBatchCheckAsync.
    private Task<CheckResponse> MeasuredCheck(CheckRequest request, ServerCallContext context)
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
            LogDecision(request.Subject, request.Action, request.Resource, request.Context is not null, answer.Result, context);
            return answer;
        }

        return MeasureCheckAsync(answer, request, context, started);
    }

    public override async Task<BatchCheckResponse> BatchCheck(BatchCheckRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        // Null, costing nothing more, while nothing listens to AuthzTracing.
        using var activity = AuthzTracing.Source.StartActivity("BatchCheck");
        activity?.SetTag(AuthzTracing.ItemsTag, request.Items.Count).SetTag(AuthzTracing.SourceTag, _checkSource);
        try
        {
            var response = await DecideBatchCheckAsync(request, context).ConfigureAwait(false);
            metrics.RecordBatchCheck(request.Consistency, response.Results, started);
            activity?.SetTag(AuthzTracing.RevisionTag, response.Revision)
                .SetTag(AuthzTracing.AllowedTag, response.Results.Count(result => result.Decision == Decision.Allowed));
            if (logger.IsEnabled(LogLevel.Debug))
            {
                for (var i = 0; i < response.Results.Count; i++)
                {
                    var item = request.Items[i];
                    LogDecision(item.Subject, item.Action, item.Resource, item.Context is not null, response.Results[i], context);
                }
            }

            return response;
        }
        catch (Exception e)
        {
            metrics.RecordCheckFailed(CheckRpc.BatchCheck, request.Consistency, started);
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    private Task<CheckResponse> DecideCheckAsync(CheckRequest request, ServerCallContext context)
    {
        CaveatContext? caveats = null;
        if ((RequestValidation.Check(request.Subject, request.Action, request.Resource)
             ?? (request.CaveatContext is { } values ? RequestValidation.CaveatContext(values, request.Context, "caveat_context", out caveats) : null)) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        // A management check (R25) is answered by the management rules, never from the graph; an ordinary check keeps
        // the hot path below, for which this costs one null test.
        if (request.Context is { } management)
        {
            return _forwarder is { } forwarder ? forwarder.CheckAsync(request, context) : ManagementCheckAsync(request, management, context.CancellationToken);
        }

        var consistency = RequestValidation.Consistency(request.Consistency);

        // A near-cache hit, and the engine under minimize_latency (or a token it has reached), complete here: no
        // network hop, no allocation beyond the response.
        ValueTask<AtRevision<CheckDecision>> pending;
        try
        {
            pending = dispatcher.CheckAsync(Question(request.Subject, request.Action, request.Resource, caveats), consistency, context.CancellationToken);
        }
        catch (AuthzException e) when (e.Kind == AuthzErrorKind.Unimplemented && _forwarder is not null)
        {
            return _forwarder.CheckAsync(request, context);
        }

        if (pending.IsCompletedSuccessfully)
        {
            return Task.FromResult(CheckResponse(pending.Result));
        }

        return _forwarder is { } forwarding ? CheckLaterOrForwardAsync(pending, forwarding, request, context) : CheckLaterAsync(pending);
    }

    // Without forwarding (every full replica), the batch is decided here with no state machine around it.
    private Task<BatchCheckResponse> DecideBatchCheckAsync(BatchCheckRequest request, ServerCallContext context) =>
        _forwarder is { } forwarder ? DecideOrForwardBatchCheckAsync(forwarder, request, context) : DecideBatchCheckHereAsync(request, context);

    private async Task<BatchCheckResponse> DecideOrForwardBatchCheckAsync(FullReplicaForwarder forwarder, BatchCheckRequest request, ServerCallContext context)
    {
        // A batch is answered at one revision by one replica: with any management item, the full replica answers it all.
        if (request.Items.Any(item => item.Context is not null))
        {
            return await forwarder.BatchCheckAsync(request, context).ConfigureAwait(false);
        }

        try
        {
            return await DecideBatchCheckHereAsync(request, context).ConfigureAwait(false);
        }
        catch (AuthzException e) when (e.Kind == AuthzErrorKind.Unimplemented)
        {
            return await forwarder.BatchCheckAsync(request, context).ConfigureAwait(false);
        }
    }

    private async Task<BatchCheckResponse> DecideBatchCheckHereAsync(BatchCheckRequest request, ServerCallContext context)
    {
        var items = request.Items;
        if (items.Count > _maxBatchCheckItems)
        {
            RequestValidation.Throw(RequestValidation.Violation(
                "items", $"has {items.Count} checks; the limit is {_maxBatchCheckItems} (Authz:MaxBatchCheckItems): split the batch"));
        }

        // Validate every item before evaluating any: a malformed batch is rejected whole. Items with a context are
        // management checks (R25), answered by the management rules from the engine, never from the graph.
        var questions = new CheckQuestion[items.Count];
        ManagementQuestion?[]? management = null;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            ManagementQuestion? question = null;
            CaveatContext? caveats = null;
            if ((RequestValidation.Check(item.Subject, item.Action, item.Resource)
                 ?? (item.Context is { } itemContext ? RequestValidation.ContextCheck(item.Subject, item.Action, item.Resource, itemContext, out question) : null)
                 ?? (item.CaveatContext is { } values ? RequestValidation.CaveatContext(values, item.Context, "caveat_context", out caveats) : null)) is { } violation)
            {
                violation.Field = $"items[{i}].{violation.Field}";
                RequestValidation.Throw(violation);
            }

            questions[i] = Question(item.Subject, item.Action, item.Resource, caveats);
            if (question is not null)
            {
                (management ??= new ManagementQuestion?[items.Count])[i] = question;
            }
        }

        var consistency = RequestValidation.Consistency(request.Consistency);

        var batch = new CheckBatch(questions, management);
        var revision = RevisionText(await dispatcher.CheckBatchAsync(batch, consistency, context.CancellationToken).ConfigureAwait(false));
        var response = new BatchCheckResponse { Revision = revision };
        for (var i = 0; i < batch.Count; i++)
        {
            response.Results.Add(CheckResponse(batch.Answer(i)!.Value.Value, revision));
        }

        return response;
    }

    public override async Task<ExplainResponse> Explain(ExplainRequest request, ServerCallContext context)
    {
        if (_forwarder is { } forwarder)
        {
            return await forwarder.ExplainAsync(request, context).ConfigureAwait(false);
        }

        ManagementQuestion? question = null;
        CaveatContext? caveats = null;
        if ((RequestValidation.Check(request.Subject, request.Action, request.Resource)
             ?? (request.Context is { } management ? RequestValidation.ContextCheck(request.Subject, request.Action, request.Resource, management, out question) : null)
             ?? (request.CaveatContext is { } values ? RequestValidation.CaveatContext(values, request.Context, "caveat_context", out caveats) : null)) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var consistency = RequestValidation.Consistency(request.Consistency);

        if (question is not null)
        {
            // The management rules are not a graph: the explanation is the verdict, with the rule that refuses the call.
            var verdict = await dispatcher.JudgeAsync(question, consistency, context.CancellationToken).ConfigureAwait(false);
            return new ExplainResponse
            {
                Decision = ProtoMapping.ToDecision(verdict.Value.Allowed),
                Root = new ExplainStep { Step = question.Step, Result = verdict.Value.Allowed, Reason = verdict.Value.Reason },
                Revision = RevisionText(verdict.Revision),
            };
        }

        var explained = await dispatcher.ExplainAsync(
            ProtoMapping.ToModel(request.Resource), request.Action, ProtoMapping.ToModel(request.Subject), caveats, consistency, context.CancellationToken)
            .ConfigureAwait(false);
        return new ExplainResponse
        {
            Decision = ProtoMapping.ToDecision(explained.Value.Decision.Permissionship),
            Root = ProtoMapping.ToProto(explained.Value.Root),
            Revision = RevisionText(explained.Revision),
            PartialCaveatInfo = ProtoMapping.ToPartialCaveatInfo(explained.Value.Decision),
        };
    }

    public override async Task LookupResources(
        LookupResourcesRequest request, IServerStreamWriter<LookupResourcesResponse> responseStream, ServerCallContext context)
    {
        if (_forwarder is { } forwarder)
        {
            await forwarder.LookupResourcesAsync(request, responseStream, context).ConfigureAwait(false);
            return;
        }

        RequestValidation.Require(RequestValidation.LookupResources(request, _maxLookupLimit));
        var caveats = LookupCaveats(request.CaveatContext, request.IncludeConditional);
        var page = StartPage(LookupCursor.RequestHash(request), request.Cursor, wildcardAllowed: false, request.Consistency);
        var resources = await page.Answer(consistency => dispatcher.LookupResourcesAsync(
            request.ResourceType, request.Action, ProtoMapping.ToModel(request.Subject), page.AfterId, (int)request.Limit, caveats, consistency,
            context.CancellationToken)).ConfigureAwait(false);
        var revision = RevisionText(resources.Revision);
        foreach (var resource in resources.Value.Resources)
        {
            await responseStream.WriteAsync(
                new LookupResourcesResponse
                {
                    Resource = ProtoMapping.ToProto(resource),
                    Revision = revision,
                    AfterResultCursor = page.CursorAfter(resources.Revision, resource.Id),
                    PartialCaveatInfo = ProtoMapping.ToPartialCaveatInfo(resources.Value.Conditional.GetValueOrDefault(resource)),
                },
                context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task LookupSubjects(
        LookupSubjectsRequest request, IServerStreamWriter<LookupSubjectsResponse> responseStream, ServerCallContext context)
    {
        if (_forwarder is { } forwarder)
        {
            await forwarder.LookupSubjectsAsync(request, responseStream, context).ConfigureAwait(false);
            return;
        }

        RequestValidation.Require(RequestValidation.LookupSubjects(request, _maxLookupLimit));
        var caveats = LookupCaveats(request.CaveatContext, request.IncludeConditional);
        var page = StartPage(LookupCursor.RequestHash(request), request.Cursor, wildcardAllowed: true, request.Consistency);
        var lookup = await page.Answer(consistency => dispatcher.LookupSubjectsAsync(
            ProtoMapping.ToModel(request.Resource), request.Action, request.SubjectType, request.SubjectRelation.Length == 0 ? null : request.SubjectRelation, page.AfterId,
            (int)request.Limit, caveats, consistency,
            context.CancellationToken)).ConfigureAwait(false);
        var revision = RevisionText(lookup.Revision);
        foreach (var subject in lookup.Value.Subjects)
        {
            var response = new LookupSubjectsResponse
            {
                Subject = ProtoMapping.ToProto(subject),
                Revision = revision,
                AfterResultCursor = page.CursorAfter(lookup.Revision, subject.Id),
                PartialCaveatInfo = ProtoMapping.ToPartialCaveatInfo(lookup.Value.Conditional.GetValueOrDefault(subject)),
            };
            if (subject.IsWildcard)
            {
                foreach (var excluded in lookup.Value.ExcludedFromWildcard)
                {
                    response.ExcludedSubjects.Add(ProtoMapping.ToProto(excluded));
                }
            }

            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The calling key as authentication verified it (<see cref="Caller"/>): no model or store read, so any valid key
    /// may ask, and there is nothing else to authorize: a key only ever learns about itself.
    /// </summary>
    public override Task<WhoAmIResponse> WhoAmI(WhoAmIRequest request, ServerCallContext context)
    {
        if (_forwarder is { } forwarder)
        {
            // The full replica names the key as it verifies it, so the answer is the same whichever replica is asked.
            return forwarder.WhoAmIAsync(request, context);
        }

        var caller = context.GetCaller();
        return Task.FromResult(new WhoAmIResponse
        {
            Subject = ProtoMapping.ToProto(caller.Subject),
            Kind = caller.Kind switch
            {
                ApiKeyKind.Check => KeyKind.Check,
                ApiKeyKind.Management => KeyKind.Management,
                _ => KeyKind.Admin,
            },
            KeyId = caller.KeyId,
            Email = caller.Email ?? string.Empty,
        });
    }

    /// <summary>
    /// Streams every revision committed after <c>after_revision</c> (empty: after the newest now), in order, each with
    /// the relationships it changed, from the store's change log; then waits for new ones (woken by this process's
    /// writes and catch-ups, and polling every <see cref="AuthzOptions.SyncIntervalMilliseconds"/> for other replicas')
    /// until the client cancels or the server stops.
    /// </summary>
    public override Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context) =>
        _forwarder is { } forwarder
            ? forwarder.WatchAsync(request, responseStream, context)
            : follower.FollowAsync(
                context,
                async cancellationToken =>
                {
                    var committed = await reader.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
                    if (request.AfterRevision.Length == 0)
                    {
                        return committed;
                    }

                    if (RequestValidation.Revision(request.AfterRevision, "after_revision", out var after) is { } violation)
                    {
                        RequestValidation.Throw(violation);
                    }

                    return after <= committed
                        ? after
                        : throw new AuthzException(
                            AuthzErrorKind.FailedPrecondition,
                            $"after_revision: revision {after} is not committed (the newest is {committed}): pass a revision a write or a check returned");
                },
                reader.ReadChangesAsync,
                async (changes, cancellationToken) =>
                {
                    var response = new WatchResponse { Revision = changes.Revision.ToString(CultureInfo.InvariantCulture), Operation = changes.Operation };
                    foreach (var change in changes.Changes)
                    {
                        response.Updates.Add(RelationshipMapping.ToUpdate(change));
                    }

                    await responseStream.WriteAsync(response, cancellationToken).ConfigureAwait(false);
                    return changes.Revision;
                });

    // A lookup's caveat fields, its context read as validation already accepted it.
    private static LookupCaveats LookupCaveats(Google.Protobuf.WellKnownTypes.Struct? values, bool includeConditional)
    {
        CaveatMapping.Context(values, "caveat_context", out var context);
        return new LookupCaveats(context, includeConditional);
    }

    private static CheckQuestion Question(V1.SubjectRef subject, string action, V1.ObjectRef resource, CaveatContext? caveats) =>
        new(resource.Type, resource.Id, action, subject.Object.Type, subject.Object.Id, subject.Relation.Length == 0 ? null : subject.Relation, caveats);

    // Reads a lookup's cursor (INVALID_ARGUMENT when it is not one of this request's), then its consistency.
    private static LookupPage StartPage(string requestHash, string cursor, bool wildcardAllowed, Consistency? requested)
    {
        var start = LookupCursor.Decode(cursor, requestHash, wildcardAllowed);
        var consistency = RequestValidation.Consistency(requested);

        return new LookupPage(consistency, start, requestHash);
    }

    private async Task<CheckResponse> CheckLaterAsync(ValueTask<AtRevision<CheckDecision>> pending) =>
        CheckResponse(await pending.ConfigureAwait(false));

    // A check replica's answer, or, when it cannot answer (UNIMPLEMENTED: a schema with caveats), the full replica's.
    private async Task<CheckResponse> CheckLaterOrForwardAsync(
        ValueTask<AtRevision<CheckDecision>> pending, FullReplicaForwarder forwarder, CheckRequest request, ServerCallContext context)
    {
        try
        {
            return CheckResponse(await pending.ConfigureAwait(false));
        }
        catch (AuthzException e) when (e.Kind == AuthzErrorKind.Unimplemented)
        {
            return await forwarder.CheckAsync(request, context).ConfigureAwait(false);
        }
    }

    private CheckResponse CheckResponse(AtRevision<CheckDecision> answer) => CheckResponse(answer.Value, RevisionText(answer.Revision));

    private static CheckResponse CheckResponse(CheckDecision decision, string revision) => new()
    {
        Decision = ProtoMapping.ToDecision(decision.Permissionship),
        Revision = revision,
        PartialCaveatInfo = ProtoMapping.ToPartialCaveatInfo(decision),
    };

    private async Task<CheckResponse> MeasureCheckAsync(Task<CheckResponse> answer, CheckRequest request, ServerCallContext context, long started)
    {
        try
        {
            var response = await answer.ConfigureAwait(false);
            metrics.RecordCheck(CheckRpc.Check, request.Consistency, response.Decision, started);
            LogDecision(request.Subject, request.Action, request.Resource, request.Context is not null, response, context);
            return response;
        }
        catch
        {
            metrics.RecordCheckFailed(CheckRpc.Check, request.Consistency, started);
            throw;
        }
    }

    // One structured line per decision, at Debug only: with Debug off (the default) nothing is formatted or allocated.
    private void LogDecision(V1.SubjectRef subject, string action, V1.ObjectRef resource, bool management, CheckResponse response, ServerCallContext context)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var subjectText = subject.Relation.Length == 0
                ? $"{subject.Object.Type}:{subject.Object.Id}"
                : $"{subject.Object.Type}:{subject.Object.Id}#{subject.Relation}";
            var resourceText = $"{resource.Type}:{resource.Id}";
            var keyId = context.TryGetCaller()?.KeyId;
            var source = DecisionSource(management);
            Log.CheckDecided(
                logger,
                response.Decision,
                subjectText,
                action,
                resourceText,
                keyId,
                response.Revision,
                source);
        }
    }

    // A check with a context: validated, then judged by the management rules on the engine the consistency asks for.
    private async Task<CheckResponse> ManagementCheckAsync(CheckRequest request, CheckContext management, CancellationToken cancellationToken)
    {
        if (RequestValidation.ContextCheck(request.Subject, request.Action, request.Resource, management, out var question) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var consistency = RequestValidation.Consistency(request.Consistency);

        var verdict = await dispatcher.JudgeAsync(question!, consistency, cancellationToken).ConfigureAwait(false);
        return new CheckResponse { Decision = ProtoMapping.ToDecision(verdict.Value.Allowed), Revision = RevisionText(verdict.Revision) };
    }

    // What a decision log line or trace names as having answered: see ManagementSource, SharedGraphSource, EngineSource, DatabaseSource.
    private string DecisionSource(bool management) => management ? ManagementSource : _checkSource;

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

    /// <summary>
    /// Where a lookup page starts, and the consistency it is answered at: as the request asks, and, when resuming, at
    /// least at the revision the cursor carries, so a page never answers from an older state than the page before it.
    /// A cursor revision the store has not committed is the cursor's fault (another deployment's), not a token's.
    /// </summary>
    private sealed record LookupPage(ReadConsistency Requested, LookupCursor.Position? Start, string RequestHash)
    {
        public string? AfterId => Start?.AfterId;

        public async ValueTask<AtRevision<T>> Answer<T>(Func<ReadConsistency, ValueTask<AtRevision<T>>> lookup)
        {
            if (Start is not { } position)
            {
                return await lookup(Requested).ConfigureAwait(false);
            }

            var consistency = Requested.ResumingAt(position.Revision, out var cursorDecides);
            try
            {
                return await lookup(consistency).ConfigureAwait(false);
            }
            catch (AuthzException e) when (cursorDecides && e.Kind == AuthzErrorKind.FailedPrecondition)
            {
                throw LookupCursor.NotCommitted(position.Revision);
            }
        }

        public string CursorAfter(long revision, string id) => LookupCursor.Encode(revision, RequestHash, id);
    }
}
