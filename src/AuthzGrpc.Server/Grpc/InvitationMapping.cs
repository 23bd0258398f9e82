using Domain = AuthzGrpc.Core.Management;

namespace AuthzGrpc.Server.Grpc;

/// <summary>The Core's invitations as ManagementService shows them: never the token's hash.</summary>
internal static class InvitationMapping
{
    /// <summary>A new or resent invitation with its token: what the inviter sends the invitee, shown this once.</summary>
    public static V1.IssuedInvitation Issued(Domain.Invitation invitation, string token) => new()
    {
        Id = invitation.Id,
        Email = invitation.Email,
        Token = token,
        ExpiresAt = ProtoMapping.ToTimestamp(invitation.ExpiresAt),
    };

    /// <summary>An invitation as listed, revoked or accepted.</summary>
    public static V1.Invitation ToProto(Domain.Invitation invitation)
    {
        var shown = new V1.Invitation
        {
            Id = invitation.Id,
            Email = invitation.Email,
            Resource = ProtoMapping.ToProto(invitation.Resource),
            State = invitation.State switch
            {
                Domain.InvitationState.Pending => V1.InvitationState.Pending,
                Domain.InvitationState.Accepted => V1.InvitationState.Accepted,
                Domain.InvitationState.Revoked => V1.InvitationState.Revoked,
                Domain.InvitationState.Expired => V1.InvitationState.Expired,
                _ => V1.InvitationState.Unspecified,
            },
            InvitedBy = invitation.InvitedBy,
            CreatedAt = ProtoMapping.ToTimestamp(invitation.CreatedAt),
            ExpiresAt = ProtoMapping.ToTimestamp(invitation.ExpiresAt),
            SentAt = invitation.SentAt is { } sent ? ProtoMapping.ToTimestamp(sent) : null,
            AcceptedAt = invitation.AcceptedAt is { } accepted ? ProtoMapping.ToTimestamp(accepted) : null,
            AcceptedBy = invitation.AcceptedBy ?? string.Empty,
            AccessExpiresAt = invitation.AccessExpiresAt is { } access ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(access) : null,
        };
        shown.Roles.AddRange(invitation.Roles);
        foreach (var grant in invitation.Grants)
        {
            var change = new V1.RoleChange { Resource = ProtoMapping.ToProto(grant.Resource), Mode = V1.RoleChangeMode.Grant };
            change.Roles.AddRange(grant.Roles);
            shown.Grants.Add(change);
        }

        foreach (var condition in invitation.Conditions)
        {
            var met = new V1.AcceptanceCondition { Resource = ProtoMapping.ToProto(condition.Resource), Role = condition.Role };
            met.AnyOf.AddRange(condition.AnyOf.Select(c => c.ToString()));
            shown.Conditions.Add(met);
        }

        return shown;
    }
}
