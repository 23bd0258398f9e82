using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.Server.Grpc;

// The operations the seeds describe as one step over several subjects: removing several members (003); and what an
// object is (003: an environment's type and production mark) in GetResource and ListResources.
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

    // What the object is beside its parent and its members' roles (ResourceAttributes): a 003 environment's type and
    // production mark.
    private static ResourceInfo WithAttributes(PermissionEngine engine, ResourceInfo info)
    {
        var resource = ProtoMapping.ToModel(info.Resource);
        info.Attributes.AddRange(ResourceAttributes.Of(engine, resource).Select(r => new V1.Attribute { Relation = r.Relation, Subject = ProtoMapping.ToProto(r.Subject) }));
        return info;
    }
}
