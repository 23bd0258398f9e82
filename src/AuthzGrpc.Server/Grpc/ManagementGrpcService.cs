using System.Globalization;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Reads;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Server.Writes;
using AuthzGrpc.Storage;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// authz.v1.ManagementService: validate the request's shape, plan the change with the Core's
/// <see cref="ManagementPlanner"/> (which enforces the schema's management rules for the caller), commit it through
/// <see cref="ModelWriter"/>, and map the result. Refusals are <see cref="AuthzException"/>s that the
/// <see cref="ErrorInterceptor"/> turns into statuses.
/// </summary>
internal sealed partial class ManagementGrpcService(
    ModelWriter writer, ModelReader reader, EngineHolder holder, StoreLogFollower follower, Authentication.ApiKeyAuthenticator authenticator,
    ILogger<ManagementGrpcService> logger)
    : ManagementService.ManagementServiceBase
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    public override async Task<GrantRoleResponse> GrantRole(GrantRoleRequest request, ServerCallContext context) =>
        new() { Changes = await ManageRoleAsync("GrantRole", context, TimeBoxed(RoleOf(request.Resource, request.Role, request.Subject, "subject"), request.OptionalExpiresAt), role => new GrantOperation(role)) };

    public override async Task<RevokeRoleResponse> RevokeRole(RevokeRoleRequest request, ServerCallContext context) =>
        new() { Changes = await ManageRoleAsync("RevokeRole", context, RoleOf(request.Resource, request.Role, request.Subject, "subject"), role => new RevokeOperation(role)) };

    public override async Task<SetRolesResponse> SetRoles(SetRolesRequest request, ServerCallContext context)
    {
        RequestValidation.Require(
            RequestValidation.Target(request.Resource, "resource"), RequestValidation.Holder(request.Subject, "subject"), RequestValidation.Roles(request.Roles, "roles"),
            RequestValidation.Expiry(request.OptionalExpiresAt, "optional_expires_at"));
        var (resource, subject) = (ProtoMapping.ToModel(request.Resource), ProtoMapping.ToModel(request.Subject));
        var operation = new SetRolesOperation(resource, subject, [.. request.Roles], RelationshipMapping.ToExpiry(request.OptionalExpiresAt));
        return new SetRolesResponse { Changes = await ManageAsync("SetRoles", context, resource, operation) };
    }

    public override async Task<ChangeRolesResponse> ChangeRoles(ChangeRolesRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.RoleChanges(request));
        var subject = ProtoMapping.ToModel(request.Subject);
        List<ObjectRoleChange> changes = [.. request.Changes.Select(c => new ObjectRoleChange(ProtoMapping.ToModel(c.Resource), KindOf(c.Mode), [.. c.Roles], RelationshipMapping.ToExpiry(c.OptionalExpiresAt)))];

        // One audit event for the whole batch, whose target lists the objects named, as a write of several objects does.
        var target = AuditTarget.Of(changes.Select(c => c.Resource));
        var result = await ManageAsync("ChangeRoles", context, target, new ChangeRolesOperation(subject, changes));
        return new ChangeRolesResponse { Changes = result };
    }

    public override async Task<RemoveMemberResponse> RemoveMember(RemoveMemberRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"), RequestValidation.Holder(request.Subject, "subject"));
        var (resource, subject) = (ProtoMapping.ToModel(request.Resource), ProtoMapping.ToModel(request.Subject));
        var command = new RemoveMemberOperation(resource, subject);
        if (request.DryRun)
        {
            var (revision, plan) = await writer.PlanAsync(command, context.GetCaller().Subject, context.CancellationToken).ConfigureAwait(false);
            return new RemoveMemberResponse { Changes = ChangesOf(revision, plan) };
        }

        return new RemoveMemberResponse { Changes = await ManageAsync("RemoveMember", context, resource, command) };
    }

    public override async Task<LeaveResponse> Leave(LeaveRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"));
        var resource = ProtoMapping.ToModel(request.Resource);
        return new LeaveResponse { Changes = await ManageAsync("Leave", context, resource, new LeaveOperation(resource)) };
    }

    public override async Task<TransferOwnershipResponse> TransferOwnership(TransferOwnershipRequest request, ServerCallContext context) =>
        new() { Changes = await ManageRoleAsync("TransferOwnership", context, RoleOf(request.Resource, request.Role, request.To, "to"), role => new TransferOperation(role)) };

    public override async Task<CreateResourceResponse> CreateResource(CreateResourceRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Creation(request));
        var (resource, parent) = (ProtoMapping.ToModel(request.Resource), ProtoMapping.ToModel(request.Parent));
        var attributes = request.Attributes.Select(a => (a.Relation, ProtoMapping.ToModel(a.Subject))).ToList();
        var children = request.Children.Select(c => new ContainedObject(ProtoMapping.ToModel(c.Resource), [.. c.Attributes.Select(a => (a.Relation, ProtoMapping.ToModel(a.Subject)))])).ToList();
        var metadata = ResourceChange.Created(resource, request.Name, request.Description.Length == 0 ? null : request.Description) with
        {
            Children = [.. request.Children.Select(c => ResourceChange.Created(ProtoMapping.ToModel(c.Resource), c.Name, c.Description.Length == 0 ? null : c.Description))],
        };
        return new CreateResourceResponse { Changes = await ManageAsync("CreateResource", context, resource, new CreateOperation(resource, parent, attributes) { Children = children }, metadata) };
    }

    public override async Task<DeleteResourceResponse> DeleteResource(DeleteResourceRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"));
        var resource = ProtoMapping.ToModel(request.Resource);
        var metadata = ResourceChange.Deleted(resource);
        return new DeleteResourceResponse { Changes = await ManageAsync("DeleteResource", context, resource, new DeleteOperation(resource), metadata) };
    }

    public override async Task<UpdateResourceResponse> UpdateResource(UpdateResourceRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Update(request));
        var resource = ProtoMapping.ToModel(request.Resource);
        var metadata = ResourceChange.Updated(resource, request.HasName ? request.Name : null, request.HasDescription ? request.Description : null);

        // No relationship changes: authority is judged against the engine under the write lock, then the store updates
        // the record (NOT_FOUND when CreateResource never made one) with its audit event, at a new revision.
        var changes = await ManageAsync("UpdateResource", context, resource, new UpdateOperation(resource), metadata);
        return new UpdateResourceResponse { Revision = changes.Revision };
    }

    public override async Task<GetResourceResponse> GetResource(GetResourceRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"));
        var view = await reader.GetResourceAsync(context.GetCaller(), ProtoMapping.ToModel(request.Resource), context.CancellationToken);
        return new GetResourceResponse { Resource = ToProto(view.Value), Revision = Text(view.Revision) };
    }

    public override async Task<ListResourcesResponse> ListResources(ListResourcesRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Contents(request));
        var type = request.ResourceType.Length == 0 ? null : request.ResourceType;
        if (type is not null && !holder.Current.Schema.TryGetType(type, out _))
        {
            RequestValidation.Throw(RequestValidation.Violation("resource_type", $"type '{type}' is not defined in the schema"));
        }

        var views = await reader.ListResourcesAsync(context.GetCaller(), ProtoMapping.ToModel(request.Parent), type, context.CancellationToken);
        var response = new ListResourcesResponse { Revision = Text(views.Revision) };
        response.Resources.AddRange(views.Value.Select(ToProto));
        return response;
    }

    private static ResourceInfo ToProto(ResourceView view)
    {
        var info = new ResourceInfo { Resource = ProtoMapping.ToProto(view.Resource), Parent = view.Parent is { } up ? ProtoMapping.ToProto(up) : null };
        if (view.Record is { } record)
        {
            info.Name = record.Name;
            info.Description = record.Description ?? string.Empty;
            info.CreatedAt = ProtoMapping.ToTimestamp(record.CreatedAt);
            info.UpdatedAt = ProtoMapping.ToTimestamp(record.UpdatedAt);
        }

        info.Attributes.AddRange(view.Attributes.Select(r => new V1.Attribute { Relation = r.Relation, Subject = ProtoMapping.ToProto(r.Subject) }));
        return info;
    }

    public override async Task<ListMembersResponse> ListMembers(ListMembersRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"));
        var list = await reader.ListMembersAsync(context.GetCaller(), ProtoMapping.ToModel(request.Resource), request.IncludeContained, context.CancellationToken);
        var response = new ListMembersResponse { Revision = Text(list.Revision) };
        foreach (var member in list.Value.Members)
        {
            var item = new Member { Subject = ProtoMapping.ToProto(member.Subject), Email = list.Value.Emails.GetValueOrDefault(member.Subject) ?? string.Empty };
            item.Roles.AddRange(member.Roles.Select(r => new MemberRole
            {
                Role = r.Relation,
                GrantedOn = ProtoMapping.ToProto(r.GrantedOn),
                Inherited = r.Placement == RolePlacement.Above,
                Contained = r.Placement == RolePlacement.Below,
                Label = r.Label,
                Via = r.Via is { } via ? ProtoMapping.ToProto(via) : null,
                ExpiresAt = r.ExpiresAt is { } expiresAt ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiresAt) : null,
                Caveat = CaveatMapping.ToProto(r.Caveat),
            }));
            response.Members.Add(item);
        }

        return response;
    }

    public override Task<GetAccessSummaryResponse> GetAccessSummary(GetAccessSummaryRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Holder(request.Subject, "subject"), RequestValidation.Target(request.Scope, "scope"));
        var summary = reader.GetAccessSummary(context.GetCaller(), ProtoMapping.ToModel(request.Subject), ProtoMapping.ToModel(request.Scope));
        var response = new GetAccessSummaryResponse { Revision = Text(summary.Revision) };
        foreach (var access in summary.Value)
        {
            var entry = new V1.ObjectAccess { Resource = ProtoMapping.ToProto(access.Resource) };
            entry.Roles.AddRange(access.Roles);
            entry.Permissions.AddRange(access.Permissions);
            response.Objects.Add(entry);
        }

        return Task.FromResult(response);
    }

    public override async Task<ListAuditEventsResponse> ListAuditEvents(ListAuditEventsRequest request, ServerCallContext context)
    {
        if (request.Resource is not null)
        {
            RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"));
        }

        if (request.PageSize is < 0 or > MaxPageSize)
        {
            RequestValidation.Throw(RequestValidation.Violation("page_size", $"must be between 0 and {MaxPageSize} (0 means {DefaultPageSize})"));
        }

        RequestValidation.Require(RequestValidation.Time(request.Since, "since"), RequestValidation.Time(request.Until, "until"));
        long? beforeId = null;
        if (request.PageToken.Length > 0)
        {
            beforeId = long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
                ? id
                : throw RequestValidation.Exception(RequestValidation.Violation("page_token", "is not a token from a previous response"));
        }

        var resource = request.Resource is null ? (Core.Model.ObjectRef?)null : ProtoMapping.ToModel(request.Resource);
        if (resource is { } named && !holder.Current.Schema.TryGetType(named.Type, out _))
        {
            RequestValidation.Throw(RequestValidation.Violation("resource.type", $"type '{named.Type}' is not defined in the schema"));
        }

        var pageSize = request.PageSize == 0 ? DefaultPageSize : request.PageSize;
        var query = new AuditQuery(resource, request.Actor.Length == 0 ? null : request.Actor, request.Since?.ToDateTime(), request.Until?.ToDateTime(), beforeId, pageSize);
        var events = await reader.QueryAuditEventsAsync(context.GetCaller(), query, context.CancellationToken);
        var response = new ListAuditEventsResponse { NextPageToken = events.Count == pageSize ? Text(events[^1].Id) : string.Empty };
        response.Events.AddRange(events.Select(ManagementEvents.ToProto));
        return response;
    }

    /// <summary>
    /// Streams the audit events after <c>after_id</c> (empty: from now on), oldest first, each with its stable type and
    /// the relationships it added and removed, then each new one as it commits (<see cref="StoreLogFollower"/>). Admin
    /// keys only: the authentication interceptor refuses the others before this runs. Opening and ending are logged, so
    /// an operator can see which consumers follow the log and how far each got.
    /// </summary>
    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<ManagementEvent> responseStream, ServerCallContext context)
    {
        var actor = CallActor.Of(context);
        long? opened = null;
        var (sent, last) = (0L, 0L);
        try
        {
            await follower.FollowAsync(
                context,
                async cancellationToken =>
                {
                    RequestValidation.Require(RequestValidation.EventPosition(request.AfterId, "after_id", out var after));
                    var newest = await reader.NewestAuditEventIdAsync(cancellationToken);
                    opened = after is not { } id ? newest
                        : id <= newest ? id
                        : throw new AuthzException(
                            AuthzErrorKind.FailedPrecondition,
                            $"after_id: event {id} does not exist yet (the newest is {newest}): pass the id of an event received, or 0 for the whole log");
                    Log.EventStreamOpened(logger, actor, opened.Value);
                    return opened.Value;
                },
                reader.ReadAuditEventsAsync,
                async (audit, cancellationToken) =>
                {
                    await responseStream.WriteAsync(ManagementEvents.ToEvent(audit), cancellationToken);
                    (sent, last) = (sent + 1, audit.Id);
                    return audit.Id;
                });
        }
        finally
        {
            // Only a stream that started ends: a refused one was logged as a rejected request.
            if (opened is { } start)
            {
                Log.EventStreamClosed(logger, actor, sent == 0 ? start : last, sent);
            }
        }
    }

    /// <summary>
    /// Invites addresses with roles: <c>emails</c> all with the request's roles, <c>invitees</c> each with its own (those
    /// of <c>emails</c> then with the request's). Every invitee is judged before anything is stored, then all are stored
    /// in one transaction: all or nothing.
    /// </summary>
    public override async Task<InviteMembersResponse> InviteMembers(InviteMembersRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Expiry(request.OptionalAccessExpiresAt, "optional_access_expires_at"));
        var access = RelationshipMapping.ToExpiry(request.OptionalAccessExpiresAt);
        IReadOnlyList<InvitedAddress> invitees = [.. RequestValidation.Invitees(request).Select(i => i with { AccessExpiresAt = access })];
        var resource = ProtoMapping.ToModel(request.Resource);
        var validFor = TimeSpan.FromHours(request.ExpiresInHours == 0 ? RequestValidation.DefaultInvitationHours : request.ExpiresInHours);
        var (revision, issued) = await writer.InviteAsync(
            resource, invitees, nameInvitees: request.Invitees.Count > 0, validFor, context.GetCaller().Subject, context.CancellationToken);
        var response = new InviteMembersResponse { Revision = Text(revision) };
        response.Invitations.AddRange(issued.Select(i => InvitationMapping.Issued(i.Invitation, i.Token)));
        return response;
    }

    public override async Task<ListInvitationsResponse> ListInvitations(ListInvitationsRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.Target(request.Resource, "resource"));
        var resource = ProtoMapping.ToModel(request.Resource);
        var invitations = await reader.ListInvitationsAsync(context.GetCaller(), resource, request.IncludeClosed, context.CancellationToken);
        var response = new ListInvitationsResponse();
        response.Invitations.AddRange(invitations.Select(InvitationMapping.ToProto));
        return response;
    }

    public override async Task<ResendInvitationResponse> ResendInvitation(ResendInvitationRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.InvitationId(request.Id, "id"), RequestValidation.InvitationHours(request.ExpiresInHours, "expires_in_hours"));
        var validFor = TimeSpan.FromHours(request.ExpiresInHours == 0 ? RequestValidation.DefaultInvitationHours : request.ExpiresInHours);
        var (revision, issued) = await writer.ResendInvitationAsync(request.Id, validFor, context.GetCaller().Subject, context.CancellationToken);
        return new ResendInvitationResponse { Invitation = InvitationMapping.Issued(issued.Invitation, issued.Token), Revision = Text(revision) };
    }

    public override async Task<RevokeInvitationResponse> RevokeInvitation(RevokeInvitationRequest request, ServerCallContext context)
    {
        RequestValidation.Require(RequestValidation.InvitationId(request.Id, "id"));
        var (revision, revoked) = await writer.RevokeInvitationAsync(request.Id, context.GetCaller().Subject, context.CancellationToken);
        return new RevokeInvitationResponse { Invitation = InvitationMapping.ToProto(revoked), Revision = Text(revision) };
    }

    public override async Task<AcceptInvitationResponse> AcceptInvitation(AcceptInvitationRequest request, ServerCallContext context)
    {
        RequestValidation.Require(
            RequestValidation.InvitationToken(request.Token, "token"),
            request.OnBehalfOf is null ? null : RequestValidation.Holder(request.OnBehalfOf, "on_behalf_of"),
            request.OnBehalfOf is { Relation.Length: > 0 } or { Object.Id: Core.Model.Identifiers.Wildcard }
                ? RequestValidation.Violation("on_behalf_of", "must name one object (user:zoe): one subject accepts, not a subject set or wildcard")
                : null);
        var caller = context.GetCaller();
        if (request.OnBehalfOf is not null && caller.Kind != ApiKeyKind.Admin)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, "on_behalf_of: only an admin key (a sign-up flow) may accept an invitation for someone else");
        }

        // The token only finds the invitation; the invitee is whoever holds the invited address, unless an admin key vouches.
        var accepter = request.OnBehalfOf is null
            ? new InvitationAccepter(caller.Subject, Vouched: false, caller.Email)
            : new InvitationAccepter(ProtoMapping.ToModel(request.OnBehalfOf), Vouched: true, VerifiedEmail: null);
        var (revision, (plan, accepted)) = await writer.AcceptInvitationAsync(InvitationToken.Hash(request.Token), accepter, context.CancellationToken);
        return new AcceptInvitationResponse { Changes = ChangesOf(revision, plan), Invitation = InvitationMapping.ToProto(accepted) };
    }

    private Task<ManagementChanges> ManageAsync(
        string operation, ServerCallContext context, Core.Model.ObjectRef target, ManagementOperation command, ResourceChange? resource = null) =>
        ManageAsync(operation, context, target.ToString(), command, resource);

    // One management call: the writer plans the command for the caller and commits it; the reply lists what changed.
    private async Task<ManagementChanges> ManageAsync(
        string operation, ServerCallContext context, string target, ManagementOperation command, ResourceChange? resource = null)
    {
        var (revision, plan) = await writer.ManageAsync(operation, target, command, resource, context.GetCaller().Subject, context.CancellationToken);
        return ChangesOf(revision, plan);
    }

    // What a committed plan changed, as the reply lists it.
    private static ManagementChanges ChangesOf(long revision, ManagementPlan plan)
    {
        var changes = new ManagementChanges { Revision = Text(revision) };
        changes.Added.AddRange(plan.Updates.Where(u => u.Operation != RelationshipOperation.Delete).Select(u => RelationshipMapping.ToProto(u.Relationship)));
        changes.Removed.AddRange(plan.Removed.Select(RelationshipMapping.ToProto));
        return changes;
    }

    // A grant, revoke or transfer: one role of one holder on one object, which is the audit event's target.
    private Task<ManagementChanges> ManageRoleAsync(
        string operation, ServerCallContext context, Core.Model.Relationship role, Func<Core.Model.Relationship, ManagementOperation> command) =>
        ManageAsync(operation, context, role.Resource, command(role));

    // The role of a grant, revoke or transfer (resource, role, holder), validated and mapped.
    private static Core.Model.Relationship RoleOf(V1.ObjectRef resource, string role, V1.SubjectRef holder, string holderField)
    {
        RequestValidation.Require(RequestValidation.Target(resource, "resource"), RequestValidation.Role(role, "role"), RequestValidation.Holder(holder, holderField));
        return new(ProtoMapping.ToModel(resource), role, ProtoMapping.ToModel(holder));
    }

    // A grant's expiry, validated and kept to the microsecond as relationships' are.
    private static Core.Model.Relationship TimeBoxed(Core.Model.Relationship role, Google.Protobuf.WellKnownTypes.Timestamp? expiresAt)
    {
        RequestValidation.Require(RequestValidation.Expiry(expiresAt, "optional_expires_at"));
        return role with { ExpiresAt = RelationshipMapping.ToExpiry(expiresAt) };
    }

    // The validated request's mode (RequestValidation.RoleChanges refuses any other).
    private static RoleChangeKind KindOf(RoleChangeMode mode) => mode switch
    {
        RoleChangeMode.Grant => RoleChangeKind.Grant,
        RoleChangeMode.Revoke => RoleChangeKind.Revoke,
        RoleChangeMode.Set => RoleChangeKind.Set,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "not validated"),
    };

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
