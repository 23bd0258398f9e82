using System.Collections.Frozen;
using System.Text.Json;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// The audit log as change events for systems outside this service (ManagementService.WatchEvents): each audit event
/// with a stable type derived from its operation, and the relationships it added and removed.
/// </summary>
internal static class ManagementEvents
{
    /// <summary>The type of an event whose operation has no type in this version (consumers switch on the operation then).</summary>
    public const string OtherType = "other";

    // Operation (as the audit log records it) -> type. The types are a contract with consumers: never rename one; a new
    // operation gets a new entry (until then its events are OtherType).
    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["GrantRole"] = "role.granted",
        ["RevokeRole"] = "role.revoked",
        ["SetRoles"] = "roles.set",
        ["ChangeRoles"] = "roles.changed",
        ["RemoveMember"] = "member.removed",
        ["RemoveMembers"] = "members.removed",
        ["Leave"] = "member.left",
        ["TransferOwnership"] = "ownership.transferred",
        ["CreateResource"] = "resource.created",
        ["UpdateResource"] = "resource.updated",
        ["DeleteResource"] = "resource.deleted",
        ["InviteMember"] = "invitation.created",
        ["ResendInvitation"] = "invitation.resent",
        ["RevokeInvitation"] = "invitation.revoked",
        ["AcceptInvitation"] = "invitation.accepted",
        ["WriteRelationships"] = "relationships.written",
        ["DeleteRelationships"] = "relationships.deleted",
        ["WriteSchema"] = "schema.written",
        ["CreateApiKey"] = "api_key.created",
        ["RevokeApiKey"] = "api_key.revoked",
        ["ConfigureApiKey"] = "api_key.configured",
        ["RestoreBackup"] = "backup.restored",
        ["Seed"] = "relationships.seeded",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    // The operations whose before/after are JSON arrays of the relationships removed/added (the store's CommitAsync and
    // DeleteRelationshipsAsync); AcceptInvitation lists what it added under "added" in an object.
    private static readonly FrozenSet<string> RelationshipLists = FrozenSet.ToFrozenSet(
        ["GrantRole", "RevokeRole", "SetRoles", "ChangeRoles", "RemoveMember", "RemoveMembers", "Leave", "TransferOwnership", "CreateResource",
         "DeleteResource", "WriteRelationships", "DeleteRelationships"],
        StringComparer.Ordinal);

    private const string AcceptInvitation = "AcceptInvitation";

    /// <summary>Every operation with a type, and its type.</summary>
    public static IReadOnlyDictionary<string, string> TypesByOperation => Types;

    /// <summary>The stable type of <paramref name="operation"/>'s events; <see cref="OtherType"/> for one this version does not know.</summary>
    public static string TypeOf(string operation) => Types.GetValueOrDefault(operation, OtherType);

    /// <summary>An audit event as the API shows it (ListAuditEvents, and inside each WatchEvents event).</summary>
    public static V1.AuditEvent ToProto(Storage.AuditEvent audit) => new()
    {
        Id = audit.Id,
        Revision = audit.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Time = ProtoMapping.ToTimestamp(audit.OccurredAt),
        Actor = audit.Actor,
        Operation = audit.Operation,
        Target = audit.Target,
        Before = audit.Before ?? string.Empty,
        After = audit.After ?? string.Empty,
    };

    /// <summary>The change event of <paramref name="audit"/>: its type, the event, and the relationships it added and removed.</summary>
    public static V1.ManagementEvent ToEvent(Storage.AuditEvent audit)
    {
        var message = new V1.ManagementEvent { Type = TypeOf(audit.Operation), Audit = ToProto(audit) };
        if (RelationshipLists.Contains(audit.Operation))
        {
            message.Removed.AddRange(Relationships(ReadList(audit.Before)));
            message.Added.AddRange(Relationships(ReadList(audit.After)));
        }
        else if (audit.Operation == AcceptInvitation && audit.After is { } after)
        {
            using var document = JsonDocument.Parse(after);
            if (document.RootElement.TryGetProperty("added", out var added) && added.ValueKind == JsonValueKind.Array)
            {
                message.Added.AddRange(Relationships(added.EnumerateArray().Select(e => e.GetString()).OfType<string>()));
            }
        }

        return message;
    }

    private static string[] ReadList(string? json) => json is null ? [] : JsonSerializer.Deserialize<string[]>(json) ?? [];

    // The store wrote these from relationships (Relationship.ToString), so they parse back.
    private static IEnumerable<V1.Relationship> Relationships(IEnumerable<string> texts) =>
        texts.Select(text => RelationshipMapping.ToProto(Core.Model.Relationship.Parse(text)));
}
