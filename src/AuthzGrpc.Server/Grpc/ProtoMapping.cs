using AuthzGrpc.Core.Engine;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Grpc;

/// <summary>Conversions between the API messages and the engine's model; requests are validated before.</summary>
internal static class ProtoMapping
{
    public static Decision ToDecision(bool allowed) => allowed ? Decision.Allowed : Decision.Denied;

    public static Decision ToDecision(Permissionship permissionship) => permissionship switch
    {
        Permissionship.Allowed => Decision.Allowed,
        Permissionship.Conditional => Decision.Conditional,
        _ => Decision.Denied,
    };

    /// <summary>What a conditional decision lacks; null for any other (the hot path allocates nothing for it).</summary>
    public static PartialCaveatInfo? ToPartialCaveatInfo(CheckDecision decision) =>
        decision.Permissionship == Permissionship.Conditional ? ToPartialCaveatInfo(decision.MissingParameters) : null;

    /// <summary>A lookup result's missing caveat parameters; null for a result that is not conditional.</summary>
    public static PartialCaveatInfo? ToPartialCaveatInfo(IReadOnlyList<string>? missing) =>
        missing is null ? null : new() { MissingRequiredContext = { missing } };

    /// <summary>A stored time as a Timestamp: the store keeps UTC, but a time read back may carry no kind.</summary>
    public static Google.Protobuf.WellKnownTypes.Timestamp ToTimestamp(DateTime utc) =>
        Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.SpecifyKind(utc, DateTimeKind.Utc));

    public static Core.Model.ObjectRef ToModel(V1.ObjectRef value) => new(value.Type, value.Id);

    public static Core.Model.SubjectRef ToModel(V1.SubjectRef value) =>
        new(value.Object.Type, value.Object.Id, value.Relation.Length == 0 ? null : value.Relation);

    public static V1.ObjectRef ToProto(Core.Model.ObjectRef value) => new() { Type = value.Type, Id = value.Id };

    public static V1.SubjectRef ToProto(Core.Model.SubjectRef value) => new()
    {
        Object = new V1.ObjectRef { Type = value.Type, Id = value.Id },
        Relation = value.Relation ?? string.Empty,
    };

    /// <summary>
    /// Steps nested deeper than this are left out of an explanation: protobuf readers refuse messages nested past 100
    /// levels by default, and a deep schema (a chain of permissions, each a union inside an intersection) nests more.
    /// </summary>
    public const int MaxExplainDepth = 64;

    public static ExplainStep ToProto(ExplainNode node) => ToProto(node, 1);

    private static ExplainStep ToProto(ExplainNode node, int depth)
    {
        var step = new ExplainStep { Step = node.Step, Result = node.Result, Reason = node.Reason ?? string.Empty };
        if (depth >= MaxExplainDepth && node.Children.Count > 0)
        {
            step.Reason = (step.Reason.Length == 0 ? string.Empty : step.Reason + "; ") +
                $"its sub-steps are left out: explanations stop at {MaxExplainDepth} levels";
            return step;
        }

        foreach (var child in node.Children)
        {
            step.Children.Add(ToProto(child, depth + 1));
        }

        return step;
    }
}

/// <summary>Conversions of the RelationshipService's messages; requests are validated before.</summary>
internal static class RelationshipMapping
{
    public static Core.Model.Relationship ToModel(V1.Relationship value) =>
        new(ProtoMapping.ToModel(value.Resource), value.Relation, ProtoMapping.ToModel(value.Subject))
        {
            ExpiresAt = ToExpiry(value.OptionalExpiresAt),
            Caveat = CaveatMapping.ToModel(value.OptionalCaveat),
        };

    /// <summary>An expiry kept to the microsecond, what PostgreSQL stores, so the model and the store hold the same instant.</summary>
    public static DateTimeOffset? ToExpiry(Google.Protobuf.WellKnownTypes.Timestamp? expiresAt) =>
        expiresAt is null ? null : new DateTimeOffset(expiresAt.ToDateTime().Ticks / 10 * 10, TimeSpan.Zero);

    public static Core.Engine.RelationshipUpdate ToModel(V1.RelationshipUpdate value) => new(
        value.Operation switch
        {
            Operation.Create => Core.Engine.RelationshipOperation.Create,
            Operation.Touch => Core.Engine.RelationshipOperation.Touch,
            _ => Core.Engine.RelationshipOperation.Delete,
        },
        ToModel(value.Relationship));

    public static Core.Model.RelationshipFilter ToModel(V1.RelationshipFilter value) => new(
        value.ResourceType,
        value.ResourceId.Length == 0 ? null : value.ResourceId,
        value.Relation.Length == 0 ? null : value.Relation,
        value.Subject is { } subject
            ? new Core.Model.SubjectFilter(
                subject.SubjectType,
                subject.SubjectId.Length == 0 ? null : subject.SubjectId,
                subject.HasRelation ? subject.Relation : null)
            : null);

    public static Storage.StorePrecondition ToModel(V1.Precondition value) => new(
        value.Operation == V1.Precondition.Types.Operation.MustMatch ? Storage.PreconditionKind.MustMatch : Storage.PreconditionKind.MustNotMatch,
        ToModel(value.Filter));

    public static V1.Relationship ToProto(Core.Model.Relationship value) => new()
    {
        Resource = ProtoMapping.ToProto(value.Resource),
        Relation = value.Relation,
        Subject = ProtoMapping.ToProto(value.Subject),
        OptionalExpiresAt = value.ExpiresAt is { } expiresAt ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiresAt) : null,
        OptionalCaveat = CaveatMapping.ToProto(value.Caveat),
    };

    // A change of the change log: touch (now stored) or delete (no longer stored).
    public static V1.RelationshipUpdate ToUpdate(Storage.StoredChange value) => new()
    {
        Operation = value.Operation == RelationshipOperation.Delete ? Operation.Delete : Operation.Touch,
        Relationship = ToProto(value.Relationship),
    };
}
