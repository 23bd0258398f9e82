using System.Globalization;
using AuthzGrpc.Core;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Services;

/// <summary>
/// authz.v1.AuthorizationService over the in-process <see cref="PermissionEngine"/> in force (<see cref="EngineHolder"/>,
/// read once per call): validate, call Core, map.
/// Engine errors (<see cref="AuthzException"/>) are turned into statuses by <see cref="ErrorInterceptor"/>.
/// The requests' <c>consistency</c> is accepted and ignored: the in-process engine is always fully consistent,
/// so every answer is at the newest revision. Watch is not implemented yet (UNIMPLEMENTED).
/// </summary>
internal sealed class AuthorizationGrpcService(EngineHolder holder, IOptions<AuthzOptions> options)
    : AuthorizationService.AuthorizationServiceBase
{
    private readonly int _maxBatchCheckItems = options.Value.MaxBatchCheckItems;

    // The last revision formatted, so a check at an unchanged revision does not format it again.
    private RevisionText _revision = new(-1, string.Empty);

    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        if (RequestValidation.Check(request.Subject, request.Action, request.Resource) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var engine = holder.Current;
        var revision = CurrentRevision(engine);
        return Task.FromResult(new CheckResponse { Decision = ProtoMapping.ToDecision(Evaluate(engine, request)), Revision = revision });
    }

    public override Task<BatchCheckResponse> BatchCheck(BatchCheckRequest request, ServerCallContext context)
    {
        var items = request.Items;
        if (items.Count > _maxBatchCheckItems)
        {
            RequestValidation.Throw(RequestValidation.Violation(
                "items", $"has {items.Count} checks; the limit is {_maxBatchCheckItems} (Authz:MaxBatchCheckItems): split the batch"));
        }

        // Validate every item before evaluating any: a malformed batch is rejected whole.
        for (var i = 0; i < items.Count; i++)
        {
            if (RequestValidation.Check(items[i].Subject, items[i].Action, items[i].Resource) is { } violation)
            {
                violation.Field = $"items[{i}].{violation.Field}";
                RequestValidation.Throw(violation);
            }
        }

        var engine = holder.Current;
        var revision = CurrentRevision(engine);
        var response = new BatchCheckResponse { Revision = revision };
        for (var i = 0; i < items.Count; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            bool allowed;
            try
            {
                allowed = Evaluate(engine, items[i]);
            }
            catch (AuthzException e)
            {
                // Name the item: "items[3]: type 'projekt' is not defined in the schema".
                throw new AuthzException(e.Kind, $"items[{i}]: {e.Message}");
            }

            response.Results.Add(new CheckResponse { Decision = ProtoMapping.ToDecision(allowed), Revision = revision });
        }

        return Task.FromResult(response);
    }

    public override Task<ExplainResponse> Explain(ExplainRequest request, ServerCallContext context)
    {
        if (RequestValidation.Check(request.Subject, request.Action, request.Resource) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var engine = holder.Current;
        var revision = CurrentRevision(engine);
        var root = engine.Explain(ProtoMapping.ToModel(request.Resource), request.Action, ProtoMapping.ToModel(request.Subject));
        return Task.FromResult(new ExplainResponse
        {
            Decision = ProtoMapping.ToDecision(root.Result),
            Root = ProtoMapping.ToProto(root),
            Revision = revision,
        });
    }

    public override async Task LookupResources(
        LookupResourcesRequest request, IServerStreamWriter<LookupResourcesResponse> responseStream, ServerCallContext context)
    {
        if (RequestValidation.LookupResources(request) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var engine = holder.Current;
        var revision = CurrentRevision(engine);
        var resources = engine.LookupResources(request.ResourceType, request.Action, ProtoMapping.ToModel(request.Subject));
        foreach (var resource in resources)
        {
            await responseStream.WriteAsync(
                new LookupResourcesResponse { Resource = ProtoMapping.ToProto(resource), Revision = revision },
                context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task LookupSubjects(
        LookupSubjectsRequest request, IServerStreamWriter<LookupSubjectsResponse> responseStream, ServerCallContext context)
    {
        if (RequestValidation.LookupSubjects(request) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var engine = holder.Current;
        var revision = CurrentRevision(engine);
        var lookup = engine.LookupSubjects(ProtoMapping.ToModel(request.Resource), request.Action, request.SubjectType);
        foreach (var subject in lookup.Subjects)
        {
            var response = new LookupSubjectsResponse { Subject = ProtoMapping.ToProto(subject), Revision = revision };
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

    // The hot path: the engine's string overload, no intermediate model objects.
    private static bool Evaluate(PermissionEngine engine, CheckRequest request)
    {
        var subject = request.Subject;
        var resource = request.Resource;
        return engine.Check(
            resource.Type, resource.Id, request.Action,
            subject.Object.Type, subject.Object.Id, subject.Relation.Length == 0 ? null : subject.Relation);
    }

    // Read before evaluating: the answer reflects at least this revision.
    private string CurrentRevision(PermissionEngine engine)
    {
        var revision = engine.Revision;
        var cached = Volatile.Read(ref _revision);
        if (cached.Revision != revision)
        {
            cached = new RevisionText(revision, revision.ToString(CultureInfo.InvariantCulture));
            Volatile.Write(ref _revision, cached);
        }

        return cached.Text;
    }

    private sealed record RevisionText(long Revision, string Text);
}
