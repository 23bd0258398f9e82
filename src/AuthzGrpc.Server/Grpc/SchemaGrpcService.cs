using System.Globalization;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Grpc;

/// <summary>authz.v1.SchemaService: the schema is stored as a new version and a new engine is swapped in whole.</summary>
internal sealed class SchemaGrpcService(ModelWriter writer, EngineHolder holder) : SchemaService.SchemaServiceBase
{
    public override async Task<WriteSchemaResponse> WriteSchema(WriteSchemaRequest request, ServerCallContext context)
    {
        var revision = await writer.WriteSchemaAsync(request.Schema, request.Force, CallActor.Of(context), context.CancellationToken)
            .ConfigureAwait(false);
        return new WriteSchemaResponse { Revision = revision.ToString(CultureInfo.InvariantCulture) };
    }

    public override Task<ReadSchemaResponse> ReadSchema(ReadSchemaRequest request, ServerCallContext context)
    {
        var engine = holder.Current;
        var revision = engine.Revision;
        return Task.FromResult(new ReadSchemaResponse
        {
            Schema = engine.Schema.Text,
            Revision = revision.ToString(CultureInfo.InvariantCulture),
        });
    }
}
