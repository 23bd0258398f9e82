using AuthzGrpc.Core.Caveats;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Server.Checks;

/// <summary>
/// Answers the reads of authz.v1.AuthorizationService once the request is validated and its consistency resolved.
/// The engine (<see cref="EngineCheckDispatcher"/>) answers everything; the shared graph's layers
/// (<see cref="NearCacheCheckDispatcher"/>, <see cref="SharedGraphCheckDispatcher"/>) wrap it and answer the checks
/// they can, passing the rest on, as SpiceDB layers its caching dispatcher over its graph evaluator. Errors are
/// <see cref="AuthzException"/>s; the gRPC edge maps them.
/// </summary>
internal interface ICheckDispatcher
{
    /// <summary>
    /// Decides one check. Completes synchronously, allocating nothing, when the layer that answers needs no I/O (a
    /// near-cache hit, or the engine under <c>minimize_latency</c> or a revision it has reached).
    /// </summary>
    ValueTask<AtRevision<CheckDecision>> CheckAsync(CheckQuestion question, ReadConsistency consistency, CancellationToken cancellationToken);

    /// <summary>
    /// Decides every item of <paramref name="batch"/> a layer before this one left unanswered; returns the revision every
    /// answer reflects at least (the oldest any was answered at). An error names its item (<c>items[3]: ...</c>).
    /// </summary>
    Task<long> CheckBatchAsync(CheckBatch batch, ReadConsistency consistency, CancellationToken cancellationToken);

    /// <summary>A management check (R25): what ManagementService would answer the question's caller.</summary>
    ValueTask<AtRevision<ManagementVerdict>> JudgeAsync(ManagementQuestion question, ReadConsistency consistency, CancellationToken cancellationToken);

    /// <summary>Why a check is decided as it is: the path through the graph, with the missing caveat parameters when it is conditional.</summary>
    ValueTask<AtRevision<Explanation>> ExplainAsync(
        ObjectRef resource, string permission, SubjectRef subject, CaveatContext? caveatContext, ReadConsistency consistency, CancellationToken cancellationToken);

    /// <summary>One page of the resources of a type the subject holds the permission on (see <see cref="PermissionEngine.LookupResources"/>).</summary>
    ValueTask<AtRevision<ResourceLookup>> LookupResourcesAsync(
        string resourceType, string permission, SubjectRef subject, string? afterId, int limit, LookupCaveats caveats, ReadConsistency consistency,
        CancellationToken cancellationToken);

    /// <summary>
    /// One page of the subjects of a type (with <paramref name="subjectRelation"/>: its subject sets) that hold the
    /// permission on the resource (see <see cref="PermissionEngine.LookupSubjects"/>).
    /// </summary>
    ValueTask<AtRevision<SubjectLookup>> LookupSubjectsAsync(
        ObjectRef resource, string permission, string subjectType, string? subjectRelation, string? afterId, int limit, LookupCaveats caveats,
        ReadConsistency consistency, CancellationToken cancellationToken);
}

/// <summary>
/// A check by name, as the request carries it: the hot path resolves the names itself, with no intermediate model
/// objects. <see cref="Context"/> is the request's caveat context (null: none).
/// </summary>
internal readonly record struct CheckQuestion(
    string ResourceType, string ResourceId, string Permission, string SubjectType, string SubjectId, string? SubjectRelation, CaveatContext? Context = null);

/// <summary>A lookup's caveat context, and whether it lists conditional answers too.</summary>
internal readonly record struct LookupCaveats(CaveatContext? Context, bool IncludeConditional);

/// <summary>An explained check: the evaluation tree and the decision it reached.</summary>
internal sealed record Explanation(ExplainNode Root, CheckDecision Decision);
