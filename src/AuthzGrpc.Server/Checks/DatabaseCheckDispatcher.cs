using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Checks;

/// <summary>
/// The innermost dispatcher of a check replica (<c>Authz:Role=check</c>), which holds no engine: answers a check over
/// the records it needs, built from one database snapshot (<see cref="OnDemandCheck"/>, one batched query per level of
/// each record) — the newest committed state, so every consistency is met; a token newer than the store's newest is
/// refused as a full replica refuses it. Each check uses the schema version of its own snapshot. What needs the whole
/// model — management checks (R25), Explain, the lookups — and checks under a schema with caveats, which records do not
/// carry, are UNIMPLEMENTED here: a full replica answers them.
/// </summary>
internal sealed class DatabaseCheckDispatcher(ModelStore model, CheckReplicaSchema schemas, TimeProvider clock, int evaluationBudget) : ICheckDispatcher
{
    /// <summary>The role named in refusals, as configured.</summary>
    internal const string RoleName = "check replica (Authz:Role=check)";

    public ValueTask<AtRevision<CheckDecision>> CheckAsync(CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken) =>
        new(CheckOneAsync(question, consistency, cancellationToken));

    public async Task<long> CheckBatchAsync(CheckBatch batch, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch.Answer(i) is null && batch.Management(i) is not null)
            {
                throw CheckBatch.Name(i, ManagementRefused());
            }
        }

        if (Enumerable.Range(0, batch.Count).All(i => !batch.IsOpenCheck(i)))
        {
            return batch.Count == 0 ? await model.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false) : batch.OldestRevision();
        }

        // One snapshot for the whole batch: every item it answers reflects the same revision.
        var (index, schema) = await OpenAsync(consistency, cancellationToken).ConfigureAwait(false);
        await using (index.ConfigureAwait(false))
        {
            var builder = new RecordBuilder(schema, index);
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch.IsOpenCheck(i))
                {
                    var question = batch[i];
                    var target = CheckBatch.Named(i, () => Resolve(schema, question));
                    try
                    {
                        batch.Answer(i, await DecideAsync(builder, target, question, index.Revision, cancellationToken).ConfigureAwait(false));
                    }
                    catch (AuthzException e)
                    {
                        throw CheckBatch.Name(i, e);
                    }
                }
            }
        }

        return batch.OldestRevision();
    }

    public ValueTask<AtRevision<ManagementVerdict>> JudgeAsync(ManagementQuestion question, ReadConsistency consistency, CancellationToken cancellationToken) =>
        throw ManagementRefused();

    public ValueTask<AtRevision<Explanation>> ExplainAsync(
        ObjectRef resource, string permission, SubjectRef subject, CaveatContext? caveatContext, ReadConsistency consistency, CancellationToken cancellationToken) =>
        throw WholeModelRefused("Explain");

    public ValueTask<AtRevision<ResourceLookup>> LookupResourcesAsync(
        string resourceType, string permission, SubjectRef subject, string? afterId, int limit, LookupCaveats caveats, ReadConsistency consistency,
        CancellationToken cancellationToken) =>
        throw WholeModelRefused("LookupResources");

    public ValueTask<AtRevision<SubjectLookup>> LookupSubjectsAsync(
        ObjectRef resource, string permission, string subjectType, string? subjectRelation, string? afterId, int limit, LookupCaveats caveats,
        ReadConsistency consistency, CancellationToken cancellationToken) =>
        throw WholeModelRefused("LookupSubjects");

    private async Task<AtRevision<CheckDecision>> CheckOneAsync(CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var (index, schema) = await OpenAsync(consistency, cancellationToken).ConfigureAwait(false);
        await using (index.ConfigureAwait(false))
        {
            var target = Resolve(schema, question);
            return await DecideAsync(new RecordBuilder(schema, index), target, question, index.Revision, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<AtRevision<CheckDecision>> DecideAsync(
        RecordBuilder builder, CheckTarget target, CheckQuestion question, long revision, CancellationToken cancellationToken)
    {
        var allowed = await OnDemandCheck.CheckAsync(
            builder, target, question.ResourceId, question.SubjectId, clock.GetUtcNow(), evaluationBudget, cancellationToken).ConfigureAwait(false);
        return new(allowed ? CheckDecision.Allowed : CheckDecision.Denied, revision);
    }

    // A snapshot at the newest committed revision, with the schema version it holds.
    private async Task<(DatabaseRelationshipIndex Index, CompiledSchema Schema)> OpenAsync(ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var index = await model.OpenRelationshipIndexAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (consistency.MinimumRevision is { } token && token > index.Revision)
            {
                throw EngineSync.NotCommitted(token, index.Revision);
            }

            var held = schemas.Held;
            var stored = await index.ReadSchemaAsync(held?.Revision ?? -1, cancellationToken).ConfigureAwait(false)
                ?? throw new AuthzException(AuthzErrorKind.FailedPrecondition, "the database holds no schema");
            var schema = schemas.Resolve(held, stored);
            if (schema.UsesCaveats)
            {
                throw new AuthzException(
                    AuthzErrorKind.Unimplemented,
                    $"the schema in force uses caveats, which a {RoleName} does not evaluate: send checks to a full replica");
            }

            return (index, schema);
        }
        catch
        {
            await index.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static CheckTarget Resolve(CompiledSchema schema, in CheckQuestion question) =>
        RecordEvaluator.Resolve(schema, question.ResourceType, question.Permission, question.SubjectType, question.SubjectId, question.SubjectRelation);

    private static AuthzException ManagementRefused() => new(
        AuthzErrorKind.Unimplemented,
        $"a check with a context is judged by the management rules, which need the whole model: this is a {RoleName}; send it to a full replica");

    private static AuthzException WholeModelRefused(string what) => new(
        AuthzErrorKind.Unimplemented, $"{what} needs the whole model: this is a {RoleName}; send it to a full replica");
}
