using AuthzGrpc.Cache;
using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Sync;

namespace AuthzGrpc.Server.Checks;

/// <summary>
/// A layer of the shared graph (<see cref="RedisGraph"/>) around another dispatcher: it answers the ordinary checks it
/// can and passes everything else on — management checks, explanations and lookups, which only the engine answers, and
/// checks under <c>fully_consistent</c>, which need the store's newest revision. Checks are resolved against the schema
/// in force (the engine's; a check replica's, <see cref="CheckReplicaSchema"/>), so the graph never answers for another schema.
/// </summary>
internal abstract class GraphCheckDispatcher(RedisGraph graph, ISchemaInForce schemas, int evaluationBudget, ICheckDispatcher inner)
    : ICheckDispatcher
{
    protected RedisGraph Graph => graph;

    protected int EvaluationBudget => evaluationBudget;

    protected ICheckDispatcher Inner => inner;

    public abstract ValueTask<AtRevision<CheckDecision>> CheckAsync(CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken);

    public abstract Task<long> CheckBatchAsync(CheckBatch batch, ReadConsistency consistency, CancellationToken cancellationToken);

    public ValueTask<AtRevision<ManagementVerdict>> JudgeAsync(
        ManagementQuestion question, ReadConsistency consistency, CancellationToken cancellationToken) =>
        inner.JudgeAsync(question, consistency, cancellationToken);

    public ValueTask<AtRevision<Explanation>> ExplainAsync(
        ObjectRef resource, string permission, SubjectRef subject, CaveatContext? caveatContext, ReadConsistency consistency, CancellationToken cancellationToken) =>
        inner.ExplainAsync(resource, permission, subject, caveatContext, consistency, cancellationToken);

    public ValueTask<AtRevision<ResourceLookup>> LookupResourcesAsync(
        string resourceType, string permission, SubjectRef subject, string? afterId, int limit, LookupCaveats caveats, ReadConsistency consistency,
        CancellationToken cancellationToken) =>
        inner.LookupResourcesAsync(resourceType, permission, subject, afterId, limit, caveats, consistency, cancellationToken);

    public ValueTask<AtRevision<SubjectLookup>> LookupSubjectsAsync(
        ObjectRef resource, string permission, string subjectType, string? subjectRelation, string? afterId, int limit, LookupCaveats caveats,
        ReadConsistency consistency, CancellationToken cancellationToken) =>
        inner.LookupSubjectsAsync(resource, permission, subjectType, subjectRelation, afterId, limit, caveats, consistency, cancellationToken);

    /// <summary>
    /// Whether the graph may answer under the schema in force (<paramref name="schema"/>): unset, <c>minimize_latency</c>
    /// and <c>at_least</c> may be, <c>fully_consistent</c> may not; nor may any check under a schema with caveats, whose
    /// answers depend on each check's context and which records do not hold.
    /// </summary>
    protected bool GraphCanServe(ReadConsistency consistency, out CompiledSchema schema)
    {
        schema = schemas.Schema;
        return consistency.Requirement != ConsistencyRequirement.FullyConsistent && !schema.UsesCaveats;
    }

    /// <summary>A graph's answer as a decision: records answer allowed or denied only.</summary>
    protected static AtRevision<CheckDecision> Decision(bool allowed, long revision) => new(allowed ? CheckDecision.Allowed : CheckDecision.Denied, revision);

    /// <summary>The question's names resolved against <paramref name="schema"/>, with the engine's errors.</summary>
    protected static CheckTarget Resolve(CompiledSchema schema, in CheckQuestion question) =>
        RecordEvaluator.Resolve(
            schema, question.ResourceType, question.Permission, question.SubjectType, question.SubjectId, question.SubjectRelation);
}

/// <summary>
/// The shared graph in Redis: fetches the records a check needs that the near cache does not hold, in pipelined waves
/// (<see cref="RedisGraph.CheckAsync"/>). What it does not serve — Redis unavailable, slow, rebuilding, or behind the
/// <c>at_least</c> revision — the inner dispatcher (the source of truth) answers. A batch's misses go to Redis together,
/// so a cold batch costs the round trips of its slowest check, not their sum.
/// </summary>
internal sealed class SharedGraphCheckDispatcher(RedisGraph graph, ISchemaInForce schemas, int evaluationBudget, ICheckDispatcher inner)
    : GraphCheckDispatcher(graph, schemas, evaluationBudget, inner)
{
    public override ValueTask<AtRevision<CheckDecision>> CheckAsync(CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken) =>
        GraphCanServe(consistency, out var schema)
            ? new(CheckGraphAsync(schema, question, consistency, cancellationToken))
            : Inner.CheckAsync(question, consistency, cancellationToken);

    public override async Task<long> CheckBatchAsync(CheckBatch batch, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (GraphCanServe(consistency, out var schema))
        {
            var fetches = new List<Task>();
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch.IsOpenCheck(i))
                {
                    var question = batch[i];
                    var target = CheckBatch.Named(i, () => Resolve(schema, question));
                    fetches.Add(FetchAsync(batch, i, schema, target, consistency.MinimumRevision, cancellationToken));
                }
            }

            await Task.WhenAll(fetches).ConfigureAwait(false);
        }

        return await Inner.CheckBatchAsync(batch, consistency, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AtRevision<CheckDecision>> CheckGraphAsync(
        CompiledSchema schema, CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var target = Resolve(schema, question);
        var answer = await Graph.CheckAsync(
            schema, target, question.ResourceId, question.SubjectId, consistency.MinimumRevision, EvaluationBudget, cancellationToken).ConfigureAwait(false);
        return answer.Served
            ? Decision(answer.Allowed, answer.Revision)
            : await Inner.CheckAsync(question, consistency, cancellationToken).ConfigureAwait(false);
    }

    private async Task FetchAsync(CheckBatch batch, int index, CompiledSchema schema, CheckTarget target, long? atLeast, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await Graph.CheckAsync(
                schema, target, batch[index].ResourceId, batch[index].SubjectId, atLeast, EvaluationBudget, cancellationToken).ConfigureAwait(false);
            if (answer.Served)
            {
                batch.Answer(index, Decision(answer.Allowed, answer.Revision));
            }
        }
        catch (AuthzException e)
        {
            throw CheckBatch.Name(index, e);
        }
    }
}

/// <summary>
/// The near cache, the outermost layer: answers from the records this process holds, without a network hop or an
/// allocation (<see cref="RedisGraph.TryCheckNear"/>), when every record a check needs is held and fresh enough for
/// its <c>at_least</c>; passes the misses on to the shared graph.
/// </summary>
internal sealed class NearCacheCheckDispatcher(RedisGraph graph, ISchemaInForce schemas, int evaluationBudget, ICheckDispatcher inner)
    : GraphCheckDispatcher(graph, schemas, evaluationBudget, inner)
{
    public override ValueTask<AtRevision<CheckDecision>> CheckAsync(CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        if (GraphCanServe(consistency, out var schema))
        {
            var target = Resolve(schema, question);
            if (Graph.TryCheckNear(
                schema, in target, question.ResourceId, question.SubjectId, consistency.MinimumRevision, EvaluationBudget, out var allowed, out var revision))
            {
                return new(Decision(allowed, revision));
            }
        }

        return Inner.CheckAsync(question, consistency, cancellationToken);
    }

    public override Task<long> CheckBatchAsync(CheckBatch batch, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (GraphCanServe(consistency, out var schema))
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (!batch.IsOpenCheck(i))
                {
                    continue;
                }

                var question = batch[i];
                var target = CheckBatch.Named(i, () => Resolve(schema, question));
                if (Graph.TryCheckNear(
                    schema, in target, question.ResourceId, question.SubjectId, consistency.MinimumRevision, EvaluationBudget, out var allowed, out var revision))
                {
                    batch.Answer(i, Decision(allowed, revision));
                }
            }
        }

        return Inner.CheckBatchAsync(batch, consistency, cancellationToken);
    }
}
