using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Server.Sync;

namespace AuthzGrpc.Server.Checks;

/// <summary>
/// The innermost dispatcher: answers from the in-process <see cref="PermissionEngine"/> in force, caught up as the
/// consistency asks (<see cref="EngineSync.EngineForAsync"/>): <c>minimize_latency</c> answers from the engine as it
/// is, without a store call; <c>at_least</c> and <c>fully_consistent</c> first catch the engine up with what other
/// replicas committed. Each answer carries the engine's revision read before evaluating: the engine moves forward in
/// place, so a revision read afterwards could claim a write the evaluation did not see. Evaluations stop when the
/// call's token is cancelled or the server stops (the engine's shutdown token).
/// </summary>
internal sealed class EngineCheckDispatcher(EngineSync sync, EngineHolder holder) : ICheckDispatcher
{
    public ValueTask<AtRevision<CheckDecision>> CheckAsync(CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var pending = sync.EngineForAsync(consistency, cancellationToken);
        return pending.IsCompletedSuccessfully
            ? new(Check(pending.Result, question, cancellationToken))
            : CheckCaughtUpAsync(pending, question, cancellationToken);
    }

    public async Task<long> CheckBatchAsync(CheckBatch batch, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        PermissionEngine? engine = null;
        for (var i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (batch.Answer(i) is not null)
            {
                continue;
            }

            engine ??= await sync.EngineForAsync(consistency, cancellationToken).ConfigureAwait(false);
            var revision = engine.Revision;
            var question = batch[i];
            var management = batch.Management(i);
            var decision = CheckBatch.Named(
                i, () => management is null ? Check(engine, question, cancellationToken).Value : Judge(engine, management).Allowed ? CheckDecision.Allowed : CheckDecision.Denied);
            batch.Answer(i, new AtRevision<CheckDecision>(decision, revision));
        }

        return batch.Count == 0 ? holder.Current.Revision : batch.OldestRevision();
    }

    public async ValueTask<AtRevision<ManagementVerdict>> JudgeAsync(
        ManagementQuestion question, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var engine = await sync.EngineForAsync(consistency, cancellationToken).ConfigureAwait(false);
        var revision = engine.Revision;
        return new(Judge(engine, question), revision);
    }

    public async ValueTask<AtRevision<Explanation>> ExplainAsync(
        ObjectRef resource, string permission, SubjectRef subject, CaveatContext? caveatContext, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var engine = await sync.EngineForAsync(consistency, cancellationToken).ConfigureAwait(false);
        var revision = engine.Revision;
        var root = engine.Explain(resource, permission, subject, caveatContext, out var decision, cancellationToken);
        return new(new Explanation(root, decision), revision);
    }

    public async ValueTask<AtRevision<ResourceLookup>> LookupResourcesAsync(
        string resourceType, string permission, SubjectRef subject, string? afterId, int limit, LookupCaveats caveats, ReadConsistency consistency,
        CancellationToken cancellationToken)
    {
        var engine = await sync.EngineForAsync(consistency, cancellationToken).ConfigureAwait(false);
        var revision = engine.Revision;
        return new(engine.LookupResources(resourceType, permission, subject, afterId, limit, caveats.Context, caveats.IncludeConditional, cancellationToken), revision);
    }

    public async ValueTask<AtRevision<SubjectLookup>> LookupSubjectsAsync(
        ObjectRef resource, string permission, string subjectType, string? subjectRelation, string? afterId, int limit, LookupCaveats caveats,
        ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var engine = await sync.EngineForAsync(consistency, cancellationToken).ConfigureAwait(false);
        var revision = engine.Revision;
        return new(
            engine.LookupSubjects(resource, permission, subjectType, afterId, limit, subjectRelation, caveats.Context, caveats.IncludeConditional, cancellationToken),
            revision);
    }

    // The hot path: the engine's string overload, no intermediate model objects.
    private static AtRevision<CheckDecision> Check(PermissionEngine engine, in CheckQuestion question, CancellationToken cancellationToken)
    {
        var revision = engine.Revision;
        var decision = engine.Decide(
            question.ResourceType, question.ResourceId, question.Permission,
            question.SubjectType, question.SubjectId, question.SubjectRelation, question.Context, cancellationToken);
        return new(decision, revision);
    }

    // What ManagementService would answer the question's caller now, from the planner the call itself runs.
    private static ManagementVerdict Judge(PermissionEngine engine, ManagementQuestion question) =>
        new ManagementCheck(engine).Judge(question.Caller, question.Action, question.Resource, question.Role, question.Target);

    private static async ValueTask<AtRevision<CheckDecision>> CheckCaughtUpAsync(
        ValueTask<PermissionEngine> pending, CheckQuestion question, CancellationToken cancellationToken) =>
        Check(await pending.ConfigureAwait(false), question, cancellationToken);
}
