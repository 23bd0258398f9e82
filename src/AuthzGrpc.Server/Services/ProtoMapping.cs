using AuthzGrpc.Core.Engine;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Services;

/// <summary>Conversions between the API messages and the engine's model; requests are validated before.</summary>
internal static class ProtoMapping
{
    public static Decision ToDecision(bool allowed) => allowed ? Decision.Allowed : Decision.Denied;

    public static Core.Model.ObjectRef ToModel(V1.ObjectRef value) => new(value.Type, value.Id);

    public static Core.Model.SubjectRef ToModel(V1.SubjectRef value) =>
        new(value.Object.Type, value.Object.Id, value.Relation.Length == 0 ? null : value.Relation);

    public static V1.ObjectRef ToProto(Core.Model.ObjectRef value) => new() { Type = value.Type, Id = value.Id };

    public static V1.SubjectRef ToProto(Core.Model.SubjectRef value) => new()
    {
        Object = new V1.ObjectRef { Type = value.Type, Id = value.Id },
        Relation = value.Relation ?? string.Empty,
    };

    public static ExplainStep ToProto(ExplainNode node)
    {
        var step = new ExplainStep { Step = node.Step, Result = node.Result, Reason = node.Reason ?? string.Empty };
        foreach (var child in node.Children)
        {
            step.Children.Add(ToProto(child));
        }

        return step;
    }
}
