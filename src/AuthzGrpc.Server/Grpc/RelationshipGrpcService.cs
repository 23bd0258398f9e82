using System.Globalization;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Reads;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// authz.v1.RelationshipService: writes and deletes go through <see cref="ModelWriter"/> (store first, then the
/// engine, at the store's revision); reads stream from the store at one snapshot, its <c>consistency</c> judged as
/// every RPC's is: a malformed <c>at_least</c> is INVALID_ARGUMENT (<see cref="RequestValidation.Consistency"/>) and one
/// the store has not committed is FAILED_PRECONDITION (<see cref="EngineSync.EngineForAsync"/>), as on Check.
/// </summary>
internal sealed class RelationshipGrpcService(ModelWriter writer, ModelReader reader, IOptions<AuthzOptions> options)
    : RelationshipService.RelationshipServiceBase
{
    /// <summary>The most preconditions one write or delete may carry.</summary>
    public const int MaxPreconditions = 100;

    private readonly int _maxWriteBatch = options.Value.MaxWriteBatch;

    public override async Task<WriteRelationshipsResponse> WriteRelationships(WriteRelationshipsRequest request, ServerCallContext context)
    {
        var updates = request.Updates;
        if (updates.Count == 0)
        {
            RequestValidation.Throw(RequestValidation.Violation("updates", "is required: at least one update"));
        }

        if (updates.Count > _maxWriteBatch)
        {
            RequestValidation.Throw(RequestValidation.Violation(
                "updates", $"has {updates.Count} updates; the limit is {_maxWriteBatch} (Authz:MaxWriteBatch): split the batch"));
        }

        if (RequestValidation.Each(updates, "updates", RequestValidation.Update) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var preconditions = Preconditions(request.Preconditions);
        var revision = await writer.WriteRelationshipsAsync(
            [.. updates.Select(RelationshipMapping.ToModel)], preconditions, CallActor.Of(context), context.CancellationToken).ConfigureAwait(false);
        return new WriteRelationshipsResponse { Revision = revision.ToString(CultureInfo.InvariantCulture) };
    }

    public override async Task ReadRelationships(
        ReadRelationshipsRequest request, IServerStreamWriter<ReadRelationshipsResponse> responseStream, ServerCallContext context)
    {
        if (RequestValidation.Filter(request.Filter, "filter") is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var consistency = RequestValidation.Consistency(request.Consistency);
        var snapshot = await reader.ReadRelationshipsAsync(consistency, RelationshipMapping.ToModel(request.Filter), context.CancellationToken).ConfigureAwait(false);
        await using (snapshot.ConfigureAwait(false))
        {
            var revision = snapshot.Revision.ToString(CultureInfo.InvariantCulture);
            await foreach (var relationship in snapshot.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(
                    new ReadRelationshipsResponse { Relationship = RelationshipMapping.ToProto(relationship), Revision = revision },
                    context.CancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override async Task<DeleteRelationshipsResponse> DeleteRelationships(DeleteRelationshipsRequest request, ServerCallContext context)
    {
        if (RequestValidation.Filter(request.Filter, "filter") is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        var preconditions = Preconditions(request.Preconditions);
        var deletion = await writer.DeleteRelationshipsAsync(
            RelationshipMapping.ToModel(request.Filter), preconditions, CallActor.Of(context), context.CancellationToken).ConfigureAwait(false);
        return new DeleteRelationshipsResponse
        {
            Revision = deletion.Revision.ToString(CultureInfo.InvariantCulture),
            DeletedCount = (ulong)deletion.Deleted.Count,
        };
    }

    private static List<StorePrecondition> Preconditions(Google.Protobuf.Collections.RepeatedField<Precondition> preconditions)
    {
        if (preconditions.Count > MaxPreconditions)
        {
            RequestValidation.Throw(RequestValidation.Violation(
                "preconditions", $"has {preconditions.Count} preconditions; the limit is {MaxPreconditions}"));
        }

        if (RequestValidation.Each(preconditions, "preconditions", RequestValidation.Precondition) is { } violation)
        {
            RequestValidation.Throw(violation);
        }

        return [.. preconditions.Select(RelationshipMapping.ToModel)];
    }
}
