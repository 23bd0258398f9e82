using AuthzGrpc.Core.Management;
using AuthzGrpc.V1;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

/// <summary>The shape checks of a check with a context (R25): which fields each management action needs.</summary>
internal static partial class RequestValidation
{
    /// <summary>
    /// Validates the context of a check whose subject, action and resource <see cref="Check"/> accepted: the subject is
    /// the would-be caller (an object: API keys act as objects), the action one of
    /// <see cref="ManagementCheck.ActionNames"/>, and the target fields those the action's call takes. Null and the
    /// question when well formed.
    /// </summary>
    public static FieldViolation? ContextCheck(
        V1.SubjectRef subject, string action, V1.ObjectRef resource, CheckContext context, out ManagementQuestion? question)
    {
        question = null;
        if (subject.Relation.Length > 0)
        {
            return Violation("subject.relation", "must be empty in a management check: the subject is who would make the management call, an object such as user:alice");
        }

        if (!ManagementCheck.TryParse(action, out var operation))
        {
            return Violation("action", $"'{Truncate(action)}' is not a management action: with a context, use {ManagementCheck.ActionNames}");
        }

        var (role, target) = operation switch
        {
            ManagementAction.Grant => (Need.Required, Need.Optional),
            ManagementAction.Revoke or ManagementAction.Transfer => (Need.Required, Need.Required),
            ManagementAction.Invite => (Need.Required, Need.Forbidden),
            ManagementAction.Remove => (Need.Forbidden, Need.Required),
            _ => (Need.Forbidden, Need.Forbidden),
        };
        var name = action;
        var violation = (role, context.TargetRole.Length) switch
        {
            (Need.Forbidden, > 0) => Violation("context.target_role", $"must be empty for {name}: it takes no role"),
            (Need.Required, _) => Role(context.TargetRole, "context.target_role"),
            _ => null,
        } ?? (target, context.TargetSubject) switch
        {
            (Need.Forbidden, not null) => Violation("context.target_subject", $"must be unset for {name}: it acts on {(operation == ManagementAction.Invite ? "an invitee not known yet" : "no other subject")}"),
            (Need.Required, null) => Violation("context.target_subject", $"is required for {name}: the subject it acts on, e.g. user:bob"),
            (_, { } set) => Holder(set, "context.target_subject"),
            _ => null,
        };
        if (violation is not null)
        {
            return violation;
        }

        question = new ManagementQuestion(
            ProtoMapping.ToModel(subject),
            operation,
            ProtoMapping.ToModel(resource),
            context.TargetRole.Length == 0 ? null : context.TargetRole,
            context.TargetSubject is { } targetSubject ? ProtoMapping.ToModel(targetSubject) : null);
        return null;
    }

    private enum Need
    {
        Forbidden,
        Optional,
        Required,
    }
}
