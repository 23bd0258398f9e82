using AuthzGrpc.Core.Management;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Grpc;

// The operation the seeds describe as one step over several subjects: removing several members (003).
internal sealed partial class ManagementGrpcService
{
    public override async Task<RemoveMembersResponse> RemoveMembers(RemoveMembersRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Removals(request));
        var resource = ProtoMapping.ToModel(request.Resource);
        List<Core.Model.SubjectRef> subjects = [.. request.Subjects.Select(ProtoMapping.ToModel)];
        var changes = await ManageAsync("RemoveMembers", context, resource, new RemoveMembersOperation(resource, subjects));
        return new RemoveMembersResponse { Changes = changes };
    }
}
