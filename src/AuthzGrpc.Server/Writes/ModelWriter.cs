using System.Diagnostics;
using System.Runtime.CompilerServices;
using AuthzGrpc.Cache;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Writes;

/// <summary>
/// Every write of the model goes through here: validate against the engine in force, commit to the store (which
/// assigns the revision), then apply to the engine at that revision. One lock is held around validate, commit and
/// apply (<see cref="EngineSync.WriteLock"/>, shared with the catch-up from the change log), so the engine sees the
/// store's revisions in commit order and never one that the store has not committed. Before validating, the engine
/// catches up with what other replicas committed; after committing, a revision another replica slipped in between is
/// replayed from the change log before this one. Then, still under the lock, the shared graph in Redis is brought up to
/// the new revision and the invalidation published, so the token a write returns is already in Redis (when Redis is
/// unreachable the write stands; checks with its token answer from the source of truth). Reads do not take the lock.
/// </summary>
internal sealed partial class ModelWriter(AuthzStore store, EngineSync sync, EngineHolder holder, SharedGraph shared, ILogger<ModelWriter> logger)
{
    /// <summary>The largest schema text accepted.</summary>
    public const int MaxSchemaLength = 1 << 20;

    /// <summary>How many times a write is judged again after other replicas committed under it, before it fails ABORTED.</summary>
    public const int MaxWriteAttempts = 8;

    // What a write that changes no relationship (an invitation, an API key) gives the engine to apply.
    private static readonly IReadOnlyList<RelationshipUpdate> NoChanges = [];

    private readonly SemaphoreSlim _lock = sync.WriteLock;

    /// <summary>
    /// Compiles and stores a new schema and puts a new engine for it in force, holding every relationship that remains.
    /// Throws <see cref="AuthzException"/>: InvalidArgument when the schema does not compile ("line L, column C: ..."),
    /// FailedPrecondition when stored relationships would no longer fit it and <paramref name="force"/> is false.
    /// </summary>
    public async Task<(long Revision, IReadOnlyList<SchemaWarning> Warnings)> WriteSchemaAsync(
        string text, bool force, string actor, CancellationToken cancellationToken)
    {
        var schema = Compile(text, forWrite: true);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var probe = new PermissionEngine(schema);
            var result = await store.Model.WriteSchemaAsync(text, r => Problem(probe, r), force, actor, CancellationToken.None).ConfigureAwait(false);
            sync.SwapLocked(ModelLoader.BuildEngine(schema, result.Remaining, result.Revision));
            await PublishLockedAsync().ConfigureAwait(false);
            Log.SchemaWritten(logger, result.Revision, schema.Types.Count, result.Deleted.Count);
            return (result.Revision, schema.Warnings);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Validates a batch against the engine in force (InvalidArgument for what the schema does not define,
    /// AlreadyExists for a create of a stored relationship), commits it to the store with its preconditions
    /// (FailedPrecondition naming a broken one) and applies it to the engine; returns the revision committed.
    /// </summary>
    public async Task<long> WriteRelationshipsAsync(
        IReadOnlyList<RelationshipUpdate> updates, IReadOnlyList<StorePrecondition> preconditions, string actor, CancellationToken cancellationToken)
    {
        var (revision, _) = await WriteLockedAsync<bool>(async engine =>
        {
            engine.Validate(updates);
            ValidatePreconditions(engine.Schema, preconditions);
            var revision = await store.Model.WriteRelationshipsAsync(updates, preconditions, actor, CancellationToken.None).ConfigureAwait(false);
            return (revision, updates, true);
        }, cancellationToken).ConfigureAwait(false);
        return revision;
    }

    /// <summary>Deletes what <paramref name="filter"/> selects, if the preconditions hold; returns the revision and what was deleted.</summary>
    public async Task<RelationshipDeletion> DeleteRelationshipsAsync(
        RelationshipFilter filter, IReadOnlyList<StorePrecondition> preconditions, string actor, CancellationToken cancellationToken)
    {
        var (_, deletion) = await WriteLockedAsync(async engine =>
        {
            ValidateFilter(engine.Schema, filter, "filter");
            ValidatePreconditions(engine.Schema, preconditions);
            var deletion = await store.Model.DeleteRelationshipsAsync(filter, preconditions, actor, CancellationToken.None).ConfigureAwait(false);
            return (deletion.Revision, (IReadOnlyList<RelationshipUpdate>)[.. deletion.Deleted.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r))], deletion);
        }, cancellationToken).ConfigureAwait(false);
        return deletion;
    }

    /// <summary>
    /// Deletes at most <paramref name="limit"/> relationships whose expiry has passed (the background cleanup, as
    /// <paramref name="actor"/>), through the one write path: the engine and the shared graph apply the deletes and
    /// Watch reports them under the revision's operation <see cref="ModelStore.ExpireOperation"/>. A schema without
    /// <c>use expiration</c> has nothing to clean up and nothing is asked of the store.
    /// </summary>
    public async Task<RelationshipDeletion> DeleteExpiredAsync(int limit, string actor, CancellationToken cancellationToken)
    {
        var (_, deletion) = await WriteLockedAsync(async engine =>
        {
            if (!engine.Schema.UsesExpiration)
            {
                return (engine.Revision, (IReadOnlyList<RelationshipUpdate>)[], new RelationshipDeletion(engine.Revision, []));
            }

            var deletion = await store.Model.DeleteExpiredAsync(limit, actor, CancellationToken.None).ConfigureAwait(false);
            var revision = deletion.Deleted.Count == 0 ? engine.Revision : deletion.Revision;
            return (revision, (IReadOnlyList<RelationshipUpdate>)[.. deletion.Deleted.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r))], deletion);
        }, cancellationToken).ConfigureAwait(false);
        return deletion;
    }

    /// <summary>
    /// Runs a management operation for <paramref name="caller"/>: the <see cref="ManagementPlanner"/> judges and plans
    /// <paramref name="command"/> against the engine in force (under the write lock, so no other write lands between
    /// planning and committing), the store commits the plan and <paramref name="resource"/>'s record with one audit event
    /// <paramref name="operation"/> on <paramref name="target"/>, and the engine applies it. A plan that changes nothing
    /// commits nothing and answers at the current revision.
    /// </summary>
    public Task<(long Revision, ManagementPlan Plan)> ManageAsync(
        string operation, string target, ManagementOperation command, ResourceChange? resource, SubjectRef caller, CancellationToken cancellationToken) =>
        WriteLockedAsync(async engine =>
        {
            var plan = command.Plan(new ManagementPlanner(engine), caller);
            if (plan.Updates.Count == 0 && resource is null)
            {
                return (engine.Revision, plan.Updates, plan);
            }

            var revision = await store.Model.ManageAsync(operation, target, plan.Updates, resource, caller.ToString(), CancellationToken.None).ConfigureAwait(false);
            return (revision, plan.Updates, plan);
        }, cancellationToken);

    /// <summary>
    /// Judges and plans a management operation exactly as <see cref="ManageAsync"/> would — under the write lock, against
    /// the engine caught up with the store — and commits nothing: a dry run. Refusals are the operation's own.
    /// </summary>
    public Task<(long Revision, ManagementPlan Plan)> PlanAsync(ManagementOperation command, SubjectRef caller, CancellationToken cancellationToken) =>
        WriteLockedAsync(engine =>
        {
            var plan = command.Plan(new ManagementPlanner(engine), caller);
            return Task.FromResult((engine.Revision, (IReadOnlyList<RelationshipUpdate>)[], plan));
        }, cancellationToken);

    /// <summary>
    /// The one shape of every write but the schema's: under the write lock, the engine catches up with what other
    /// replicas committed; <paramref name="write"/> judges the change against it and commits it to the store (which
    /// assigns the revision), returning the relationship changes committed; the engine applies them at that revision and
    /// the shared graph is brought up to it. A write that commits nothing returns the engine's revision: nothing to apply
    /// or publish.
    /// </summary>
    private async Task<(long Revision, T Result)> WriteLockedAsync<T>(
        Func<PermissionEngine, Task<(long Revision, IReadOnlyList<RelationshipUpdate> Committed, T Result)>> write,
        CancellationToken cancellationToken,
        [CallerMemberName] string operation = "")
    {
        // Null, costing nothing more, while nothing listens to AuthzTracing; the lock wait is part of the write's time.
        using var activity = AuthzTracing.Source.StartActivity("Write");
        activity?.SetTag(AuthzTracing.OperationTag, operation.EndsWith("Async", StringComparison.Ordinal) ? operation[..^"Async".Length] : operation);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (engine, revision, committed, result) = await JudgeAndCommitLockedAsync(write, cancellationToken).ConfigureAwait(false);
            if (revision != engine.Revision)
            {
                // Not cancellable from here: once committed, the engine must apply it whatever the caller does.
                await sync.ApplyCommittedLockedAsync(committed, revision).ConfigureAwait(false);
                await PublishLockedAsync(ChangesOf(revision, committed)).ConfigureAwait(false);
            }

            activity?.SetTag(AuthzTracing.RevisionTag, revision);
            return (revision, result);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// With the write lock held: catches the engine up with the store, has <paramref name="write"/> judge and commit its
    /// change against it, and commits only on top of the revision it was judged at (<see cref="AuthzDatabase.JudgedAt"/>).
    /// When another replica committed in between (the database-wide lock is taken only at commit), nothing was
    /// changed: the engine catches up again and the change is judged anew, so a management rule (the last owner, who
    /// may grant what) holds across replicas as it does within one. After <see cref="MaxWriteAttempts"/> conflicts the
    /// write fails with ABORTED (<see cref="WriteConflictException"/>): retry.
    /// </summary>
    private async Task<(PermissionEngine Engine, long Revision, IReadOnlyList<RelationshipUpdate> Committed, T Result)> JudgeAndCommitLockedAsync<T>(
        Func<PermissionEngine, Task<(long Revision, IReadOnlyList<RelationshipUpdate> Committed, T Result)>> write, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var engine = await sync.CatchUpLockedAsync(null, cancellationToken).ConfigureAwait(false);
            try
            {
                using (store.Database.JudgedAt(engine.Revision))
                {
                    var (revision, committed, result) = await write(engine).ConfigureAwait(false);
                    return (engine, revision, committed, result);
                }
            }
            catch (WriteConflictException conflict) when (attempt < MaxWriteAttempts)
            {
                Log.WriteJudgedAgain(logger, conflict.JudgedAt, conflict.Committed, attempt);
            }
        }
    }

    /// <summary>
    /// Throws InvalidArgument unless every name in <paramref name="filter"/> is defined by <paramref name="schema"/>: the
    /// resource type, the relation (a relation, not a permission), the subject type and the subject relation.
    /// </summary>
    public static void ValidateFilter(CompiledSchema schema, RelationshipFilter filter, string field)
    {
        if (!schema.TryGetType(filter.ResourceType, out var type))
        {
            throw Invalid($"{field}.resource_type: type '{filter.ResourceType}' is not defined in the schema");
        }

        if (filter.Relation is { } relation)
        {
            if (!type.TryGetMember(relation, out var member))
            {
                throw Invalid($"{field}.relation: '{relation}' is not a relation of '{type.Name}'");
            }

            if (member is not RelationDefinition)
            {
                throw Invalid($"{field}.relation: '{type.Name}#{relation}' is a permission; relationships are stored on relations only");
            }
        }

        if (filter.Subject is { } subject)
        {
            if (!schema.TryGetType(subject.Type, out var subjectType))
            {
                throw Invalid($"{field}.subject.subject_type: type '{subject.Type}' is not defined in the schema");
            }

            if (subject.Relation is { Length: > 0 } subjectRelation && !subjectType.TryGetMember(subjectRelation, out _))
            {
                throw Invalid($"{field}.subject.relation: '{subjectRelation}' is not a relation or permission of '{subjectType.Name}'");
            }
        }
    }

    private static void ValidatePreconditions(CompiledSchema schema, IReadOnlyList<StorePrecondition> preconditions)
    {
        for (var i = 0; i < preconditions.Count; i++)
        {
            ValidateFilter(schema, preconditions[i].Filter, $"preconditions[{i}].filter");
        }
    }

    // Not cancellable: the write is committed; its invalidation must go out whatever the caller does.
    private Task PublishLockedAsync(ChangeReader? changes = null) =>
        shared.Graph?.PublishAsync(holder.Current, changes ?? sync.ReadChangedRelationshipsAsync, CancellationToken.None) ?? Task.CompletedTask;

    // What Redis needs to replay the revision this process just committed, from what it committed (what the change log
    // holds of it, or more: a touch that changed nothing rewrites a record as it was) rather than read back from the
    // change log; any other span of revisions (Redis further behind: another replica's write-through failed) is read.
    private ChangeReader ChangesOf(long revision, IReadOnlyList<RelationshipUpdate> committed) =>
        (after, through, cancellationToken) => after == revision - 1 && through == revision
            ? Task.FromResult<IReadOnlyList<Relationship>?>([.. committed.Select(u => u.Relationship)])
            : sync.ReadChangedRelationshipsAsync(after, through, cancellationToken);

    private static AuthzException Invalid(string message) => new(AuthzErrorKind.InvalidArgument, message);

    // A schema a caller wrote, compiled; InvalidArgument naming what is wrong ("schema: line L, column C: ..."). A new
    // schema (forWrite) is refused what SpiceDB refuses at write; a backup's, written before, only what no engine loads.
    private static CompiledSchema Compile(string text, bool forWrite)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Invalid("schema: is required: the schema text, e.g. definition user {}");
        }

        if (text.Length > MaxSchemaLength)
        {
            throw Invalid($"schema: is {text.Length} characters long; the limit is {MaxSchemaLength}");
        }

        try
        {
            return forWrite ? CompiledSchema.CompileForWrite(text) : CompiledSchema.Compile(text);
        }
        catch (SchemaException e)
        {
            throw Invalid($"schema: {e.Message}");
        }
    }

    // Why a stored relationship does not fit the new schema (the engine's message names it), or null.
    private static string? Problem(PermissionEngine probe, Relationship relationship)
    {
        try
        {
            probe.Validate([new RelationshipUpdate(RelationshipOperation.Touch, relationship)]);
            return null;
        }
        catch (AuthzException e)
        {
            return e.Message;
        }
    }
}
