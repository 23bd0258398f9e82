using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Sync;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Reads;

/// <summary>
/// The read side of the model, as <see cref="Writes.ModelWriter"/> is its write side: every read of management data
/// and of the store passes here. A read is judged first — admin keys read everything, any other caller only what the
/// type's own rule allows (<c>read by</c>, <c>members by</c>, <c>summary by</c>, <c>audit by</c>), with the same refusal
/// whether the object exists or not — and only then reads the engine in force and the store. The gRPC services
/// validate, call and map.
/// </summary>
internal sealed class ModelReader(EngineHolder holder, EngineSync sync, AuthzStore store)
{
    /// <summary>An object as GetResource shows it; PermissionDenied before NotFound.</summary>
    public async Task<AtRevision<ResourceView>> GetResourceAsync(Caller caller, ObjectRef resource, CancellationToken cancellationToken)
    {
        var engine = holder.Current;
        var queries = new MembershipQueries(engine);
        var type = engine.Schema.RequireType(resource.Type);
        if (caller.Kind != ApiKeyKind.Admin && !queries.MayRead(caller.Subject, resource))
        {
            // The same refusal whether the object exists or not: a missing object grants nobody its permission.
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{caller.Subject} may not read {resource}: {ReadNeeds(type, "read by", type.Rules.Read)}");
        }

        var stored = await store.Directory.ReadResourcesAsync([resource], cancellationToken).ConfigureAwait(false);
        if (!stored.ContainsKey(resource) && !engine.Read(new RelationshipFilter(resource.Type, resource.Id)).Any())
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"{resource} has no record and no relationship");
        }

        return new(View(engine, resource, queries.ParentOf(resource), stored), engine.Revision);
    }

    /// <summary>
    /// The objects directly inside <paramref name="parent"/> (of <paramref name="type"/> when given) that the caller
    /// may read; refused when the caller may read neither the parent nor anything in it.
    /// </summary>
    public async Task<AtRevision<IReadOnlyList<ResourceView>>> ListResourcesAsync(
        Caller caller, ObjectRef parent, string? type, CancellationToken cancellationToken)
    {
        var engine = holder.Current;
        var queries = new MembershipQueries(engine);
        var parentType = engine.Schema.RequireType(parent.Type);
        var children = queries.Children(parent, type)
            .Where(child => caller.Kind == ApiKeyKind.Admin || queries.MayRead(caller.Subject, child))
            .ToList();
        if (children.Count == 0 && caller.Kind != ApiKeyKind.Admin && !queries.MayRead(caller.Subject, parent))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied,
                $"{caller.Subject} may not list the objects inside {parent}: it may read neither {parent} ({ReadNeeds(parentType, "read by", parentType.Rules.Read)}) nor anything in it");
        }

        var stored = await store.Directory.ReadResourcesAsync(children, cancellationToken).ConfigureAwait(false);
        return new([.. children.Select(child => View(engine, child, parent, stored))], engine.Revision);
    }

    /// <summary>The members of <paramref name="resource"/>, each with their roles, where each comes from, and their email.</summary>
    public async Task<AtRevision<MemberList>> ListMembersAsync(Caller caller, ObjectRef resource, bool includeContained, CancellationToken cancellationToken)
    {
        var engine = holder.Current;
        var type = engine.Schema.RequireType(resource.Type);
        var queries = new MembershipQueries(engine);
        if (caller.Kind != ApiKeyKind.Admin && !queries.MayListMembers(caller.Subject, resource))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{caller.Subject} may not list the members of {resource}: {ReadNeeds(type, "members by", type.Rules.Members)}");
        }

        var members = queries.ListMembers(resource, includeContained);
        var emails = await store.Directory.ReadEmailsAsync([.. members.Select(m => m.Subject)], cancellationToken).ConfigureAwait(false);
        return new(new MemberList(members, emails), engine.Revision);
    }

    /// <summary>What <paramref name="subject"/> holds within <paramref name="scope"/>: the subject itself, admin keys and the scope's <c>summary by</c> may read it.</summary>
    public AtRevision<IReadOnlyList<ObjectAccess>> GetAccessSummary(Caller caller, SubjectRef subject, ObjectRef scope)
    {
        var engine = holder.Current;
        var queries = new MembershipQueries(engine);
        if (caller.Kind != ApiKeyKind.Admin && !queries.MayReadAccessSummary(caller.Subject, subject, scope))
        {
            var needs = engine.Schema.RequireType(scope.Type).Rules.Summary is { } summary
                ? $"it needs '{summary.Name}' on {scope}"
                : $"only the subject and those who may revoke roles on {scope} may";
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{caller.Subject} may not read {subject}'s access summary: {needs}");
        }

        return new(queries.AccessSummary(subject, scope), engine.Revision);
    }

    /// <summary>
    /// Audit events matching <paramref name="query"/>: the whole log for admin keys; for any other caller, the log of
    /// one object whose <c>audit by</c> permission it holds.
    /// </summary>
    public Task<IReadOnlyList<AuditEvent>> QueryAuditEventsAsync(Caller caller, AuditQuery query, CancellationToken cancellationToken)
    {
        if (caller.Kind != ApiKeyKind.Admin)
        {
            if (query.Resource is not { } scope)
            {
                throw new AuthzException(AuthzErrorKind.PermissionDenied, "reading the whole audit log needs an admin key: name a resource whose audit log you may read");
            }

            if (!new MembershipQueries(holder.Current).MayReadAudit(caller.Subject, scope))
            {
                throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{caller.Subject} may not read the audit log of {scope}: it needs the '{scope.Type}' type's 'audit by' permission");
            }
        }

        return store.Audit.QueryAsync(query, cancellationToken);
    }

    /// <summary>
    /// The invitations to <paramref name="resource"/> the caller may see (pending only unless <paramref name="includeClosed"/>):
    /// those who may grant a role there see the invitations to roles they may grant; admin keys see all.
    /// </summary>
    public async Task<IReadOnlyList<Invitation>> ListInvitationsAsync(Caller caller, ObjectRef resource, bool includeClosed, CancellationToken cancellationToken)
    {
        var planner = new ManagementPlanner(holder.Current);
        if (caller.Kind != ApiKeyKind.Admin && !planner.MayListInvitations(caller.Subject, resource))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{caller.Subject} may not list the invitations of {resource}: it may grant no role there");
        }

        return [.. (await store.Invitations.ListAsync(resource, cancellationToken).ConfigureAwait(false))
            .Where(invitation => includeClosed || invitation.State == InvitationState.Pending)
            .Where(invitation => caller.Kind == ApiKeyKind.Admin || planner.MaySee(caller.Subject, invitation))];
    }

    /// <summary>
    /// Opens a snapshot read of the relationships <paramref name="filter"/> selects (admin keys only: the authentication
    /// interceptor admits no other to RelationshipService). The store reads at its newest revision, so any consistency
    /// is met once the revision it names is known committed: the same rules as Check's, catching the engine up on the way.
    /// </summary>
    public async Task<RelationshipReader> ReadRelationshipsAsync(
        ReadConsistency consistency, RelationshipFilter filter, CancellationToken cancellationToken)
    {
        await sync.EngineForAsync(consistency, cancellationToken).ConfigureAwait(false);
        Writes.ModelWriter.ValidateFilter(holder.Current.Schema, filter, "filter");
        return await store.Model.ReadRelationshipsAsync(filter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every API key, or those of <paramref name="subject"/> (admin keys only, as for every ApiKeyService call).</summary>
    public Task<IReadOnlyList<StoredApiKey>> ListApiKeysAsync(SubjectRef? subject, CancellationToken cancellationToken) =>
        store.ApiKeys.ListAsync(subject, cancellationToken);

    /// <summary>The newest committed revision, where a Watch from now on starts.</summary>
    public Task<long> CurrentRevisionAsync(CancellationToken cancellationToken) => store.Model.CurrentRevisionAsync(cancellationToken);

    /// <summary>The committed revisions after <paramref name="afterRevision"/> with their changes (Watch's source).</summary>
    public Task<IReadOnlyList<RevisionChanges>> ReadChangesAsync(long afterRevision, int limit, CancellationToken cancellationToken) =>
        store.Model.ReadChangesAsync(afterRevision, limit, cancellationToken);

    /// <summary>The id of the newest audit event, where WatchEvents from now on starts.</summary>
    public Task<long> NewestAuditEventIdAsync(CancellationToken cancellationToken) => store.Audit.NewestIdAsync(cancellationToken);

    /// <summary>The audit events after <paramref name="afterId"/> (WatchEvents' source).</summary>
    public Task<IReadOnlyList<AuditEvent>> ReadAuditEventsAsync(long afterId, int limit, CancellationToken cancellationToken) =>
        store.Audit.ReadAsync(afterId, limit, cancellationToken);

    /// <summary>The whole state, from one snapshot: the header, then every stored row. Admin keys only.</summary>
    public IAsyncEnumerable<BackupItem> ExportBackup(Caller caller, CancellationToken cancellationToken)
    {
        // The interceptor lets only admin keys reach BackupService; a second gate where the data leaves costs nothing.
        if (caller.Kind != ApiKeyKind.Admin)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"only admin keys may export a backup; API key {caller.KeyId} is a {caller.Kind} key");
        }

        return store.Backup.ExportAsync(cancellationToken);
    }

    // What a read needs, in the words of the type's rule ('read by', 'members by'); without the rule, only admin keys.
    private static string ReadNeeds(TypeDefinition type, string rule, MemberDefinition? permission) =>
        permission is null
            ? $"the '{type.Name}' type has no '{rule}' rule, so only admin keys may"
            : $"it needs '{permission.Name}' there (the '{type.Name}' type's '{rule}' rule)";

    private static ResourceView View(PermissionEngine engine, ObjectRef resource, ObjectRef? parent, IReadOnlyDictionary<ObjectRef, StoredResource> stored) =>
        new(resource, parent, stored.GetValueOrDefault(resource), ResourceAttributes.Of(engine, resource));
}

/// <summary>An object as the management API shows it: its parent, its stored record (when CreateResource made one), its attributes.</summary>
internal sealed record ResourceView(ObjectRef Resource, ObjectRef? Parent, StoredResource? Record, IReadOnlyList<Relationship> Attributes);

/// <summary>The members of an object with their roles, and the emails known for them.</summary>
internal sealed record MemberList(IReadOnlyList<MemberRoles> Members, IReadOnlyDictionary<SubjectRef, string> Emails);
