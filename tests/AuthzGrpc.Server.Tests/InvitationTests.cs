using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The invitation lifecycle of authz.v1.ManagementService (R13, R14, R15, R29; A000-7, A002-3, A002-4, A002-8, A003-5,
/// A004-7) against the real server on a real database, on the default model: in organization:northwind, user:olivia
/// is the owner, user:aaron an admin and user:victor a viewer; user:zoe and user:yuri are not members.
/// </summary>
public sealed class InvitationTests
{
    private const string Owner = "user:olivia";
    private const string Admin = "user:aaron";
    private const string Viewer = "user:victor";
    private const string Org = "organization:northwind";

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Invite_OneAndACommaList_CreatesPendingInvitationsThatGrantNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);

        var one = await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"]));
        var before = await server.RevisionAsync();
        var many = await owner.InviteMembersAsync(Invite(["yuri@example.com, Xena@Example.com ,yuri@example.com"], ["viewer"]));

        var issued = Assert.Single(one.Invitations);
        Assert.Equal("zoe@example.com", issued.Email);
        Assert.True(issued.Token.Length >= 43, "a token of at least 32 bytes, base64url");
        Assert.Equal(["yuri@example.com", "xena@example.com"], many.Invitations.Select(i => i.Email));
        Assert.Equal(before + 1, long.Parse(many.Revision, System.Globalization.CultureInfo.InvariantCulture));
        var expiry = issued.ExpiresAt.ToDateTime() - DateTime.UtcNow;
        Assert.InRange(expiry, TimeSpan.FromDays(7) - TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));

        // Only the hash is stored.
        var stored = await server.Store.Invitations.FindAsync(issued.Id);
        Assert.NotNull(stored);
        Assert.NotEqual(issued.Token, stored.TokenHash);
        Assert.DoesNotContain(issued.Token, stored.TokenHash, StringComparison.Ordinal);

        // A pending invitation grants nothing (A000-7, A003-5).
        var check = await server.Authorization.CheckAsync(new CheckRequest(Requests.Check("user:zoe", "create_api_tokens", Org))
        {
            Consistency = new Consistency { AtLeast = many.Revision },
        });
        Assert.Equal(Decision.Denied, check.Decision);

        var listed = await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) });
        Assert.Equal(3, listed.Invitations.Count);
        var zoe = Assert.Single(listed.Invitations, i => i.Email == "zoe@example.com");
        Assert.Equal((InvitationState.Pending, Owner, Org), (zoe.State, zoe.InvitedBy, Requests.Text(zoe.Resource)));
        Assert.Equal(["developer"], zoe.Roles);
        Assert.NotNull(zoe.SentAt);
        Assert.Null(zoe.AcceptedAt);

        // The same email again while pending: FAILED_PRECONDITION naming it, nothing created.
        var revision = await server.RevisionAsync();
        var again = await Assert.ThrowsAsync<RpcException>(() => owner.InviteMembersAsync(Invite(["ZOE@example.com"], ["viewer"])).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Contains(issued.Id, again.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(revision, await server.RevisionAsync());
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Invite_BadInputOrNoAuthority_CreatesNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var admin = await ClientAsync(server, Admin);
        var viewer = await ClientAsync(server, Viewer);
        var revision = await server.RevisionAsync();

        // A002-8: one malformed address in a comma list → nothing created.
        foreach (var emails in new[] { "a@example.com, not-an-email, b@example.com", "a@example.com,,b@example.com", "a@@example.com", "a@example", new string('a', 250) + "@example.com" })
        {
            var bad = await Assert.ThrowsAsync<RpcException>(() => owner.InviteMembersAsync(Invite([emails], ["viewer"])).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        }

        var tooMany = Enumerable.Range(0, 101).Select(i => $"u{i}@example.com").ToArray();
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => owner.InviteMembersAsync(Invite(tooMany, ["viewer"])).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => owner.InviteMembersAsync(Invite(["a@example.com"], [])).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => owner.InviteMembersAsync(Invite(["a@example.com"], ["viewer"], 721)).ResponseAsync)).StatusCode);

        // R15 / 002: only owners invite owners; a viewer invites nobody.
        var adminOwner = await Assert.ThrowsAsync<RpcException>(() => admin.InviteMembersAsync(Invite(["a@example.com"], ["owner"])).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, adminOwner.StatusCode);
        var viewerInvite = await Assert.ThrowsAsync<RpcException>(() => viewer.InviteMembersAsync(Invite(["a@example.com"], ["viewer"])).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, viewerInvite.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() =>
            viewer.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) }).ResponseAsync)).StatusCode);

        Assert.Equal(revision, await server.RevisionAsync());
        Assert.Empty(await server.Store.Invitations.ListAsync(new Core.Model.ObjectRef("organization", "northwind")));

        // An admin may invite a non-owner role.
        var ok = await admin.InviteMembersAsync(Invite(["a@example.com"], ["developer"]));
        Assert.Single(ok.Invitations);

        // A002-8: a comma list in which one address already has a pending invitation → nothing created.
        var before = await server.RevisionAsync();
        var pendingAlready = await Assert.ThrowsAsync<RpcException>(() => admin.InviteMembersAsync(Invite(["b@example.com, a@example.com, c@example.com"], ["developer"])).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, pendingAlready.StatusCode);
        Assert.Equal(before, await server.RevisionAsync());
        Assert.Equal(["a@example.com"], (await server.Store.Invitations.ListAsync(new Core.Model.ObjectRef("organization", "northwind"))).Select(i => i.Email));

        // A002-4: an admin revokes (deletes) a non-owner invitation.
        var revoked = await admin.RevokeInvitationAsync(new RevokeInvitationRequest { Id = ok.Invitations[0].Id });
        Assert.Equal(InvitationState.Revoked, revoked.Invitation.State);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Accept_GrantsTheRolesAndBaseMembership_Once(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var zoe = await ClientAsync(server, "user:zoe", "zoe@example.com");
        var issued = (await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"]))).Invitations[0];

        var accepted = await zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token });

        var added = accepted.Changes.Added.Select(Requests.Text).ToList();
        Assert.Contains("organization:northwind#developer@user:zoe", added);
        Assert.Contains("organization:northwind#member@user:zoe", added);
        Assert.Equal(InvitationState.Accepted, accepted.Invitation.State);
        Assert.Equal("user:zoe", accepted.Invitation.AcceptedBy);
        Assert.NotNull(accepted.Invitation.AcceptedAt);
        var check = await server.Authorization.CheckAsync(new CheckRequest(Requests.Check("user:zoe", "create_api_tokens", Org))
        {
            Consistency = new Consistency { AtLeast = accepted.Changes.Revision },
        });
        Assert.Equal(Decision.Allowed, check.Decision);

        // A002-3: a second accept fails, saying it was accepted.
        var second = await Assert.ThrowsAsync<RpcException>(() => zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, second.StatusCode);
        Assert.Contains("accepted", second.Status.Detail, StringComparison.Ordinal);
        foreach (var call in new Func<Task>[]
        {
            () => owner.ResendInvitationAsync(new ResendInvitationRequest { Id = issued.Id }).ResponseAsync,
            () => owner.RevokeInvitationAsync(new RevokeInvitationRequest { Id = issued.Id }).ResponseAsync,
        })
        {
            Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        // The list shows it accepted only with include_closed; ListMembers shows the email (R26).
        Assert.Empty((await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) })).Invitations);
        var all = await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org), IncludeClosed = true });
        Assert.Equal(InvitationState.Accepted, Assert.Single(all.Invitations).State);
        var members = await owner.ListMembersAsync(new ListMembersRequest { Resource = Requests.Object(Org) });
        Assert.Equal("zoe@example.com", Assert.Single(members.Members, m => Requests.Text(m.Subject) == "user:zoe").Email);

        // Unknown token: NOT_FOUND; malformed: INVALID_ARGUMENT.
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() =>
            zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = new string('A', 43) }).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() =>
            zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = "not a token!" }).ResponseAsync)).StatusCode);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Accept_ByAKeyOfAnotherAddress_IsRefused_AndTheInvitationStaysPending(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var issued = (await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"]))).Invitations[0];
        var revision = await server.RevisionAsync();

        // R13 "by the invitee only": the token finds the invitation, but yuri's key carries another address, and a key
        // without a verified email carries none.
        var yuri = await ClientAsync(server, "user:yuri", "yuri@example.com");
        var anonymous = await ClientAsync(server, "user:zoe");
        foreach (var stranger in new[] { yuri, anonymous })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => stranger.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token }).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("this invitation is for another address", refused.Status.Detail, StringComparison.Ordinal);
        }

        // Nothing changed: no revision, no grant, still pending.
        Assert.Equal(revision, await server.RevisionAsync());
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Requests.Check("user:yuri", "create_api_tokens", Org))).Decision);
        Assert.Equal(InvitationState.Pending, Assert.Single((await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) })).Invitations).State);

        // A non-admin key may not accept for someone else.
        var onBehalf = await Assert.ThrowsAsync<RpcException>(() => yuri.AcceptInvitationAsync(new AcceptInvitationRequest
        {
            Token = issued.Token,
            OnBehalfOf = Requests.Subject("user:zoe"),
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, onBehalf.StatusCode);
        Assert.Equal(revision, await server.RevisionAsync());

        // The invitee's key, its address in another case, accepts.
        var zoe = await ClientAsync(server, "user:zoe", "Zoe@Example.COM");
        var accepted = await zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token });
        Assert.Equal("user:zoe", accepted.Invitation.AcceptedBy);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Accept_ByAnAdminKeyOnBehalfOfTheInvitee_GrantsTheInvitee(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var issued = (await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"]))).Invitations[0];

        // The deployment's sign-up flow (an admin key) verified the address and accepts for the new user.
        var signUp = new ManagementService.ManagementServiceClient(server.Channel);
        var accepted = await signUp.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token, OnBehalfOf = Requests.Subject("user:zoe") });

        Assert.Equal("user:zoe", accepted.Invitation.AcceptedBy);
        Assert.Contains("organization:northwind#developer@user:zoe", accepted.Changes.Added.Select(Requests.Text));
        var check = await server.Authorization.CheckAsync(new CheckRequest(Requests.Check("user:zoe", "create_api_tokens", Org))
        {
            Consistency = new Consistency { AtLeast = accepted.Changes.Revision },
        });
        Assert.Equal(Decision.Allowed, check.Decision);

        // A subject set is not someone who accepts.
        var second = (await owner.InviteMembersAsync(Invite(["yuri@example.com"], ["viewer"]))).Invitations[0];
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => signUp.AcceptInvitationAsync(new AcceptInvitationRequest
        {
            Token = second.Token,
            OnBehalfOf = Requests.Subject("group:eng#member"),
        }).ResponseAsync)).StatusCode);

        // Keys record the verified address; a malformed one is refused.
        var keys = new ApiKeyService.ApiKeyServiceClient(server.Channel);
        var created = await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Subject = Requests.Subject("user:yuri"), Kind = KeyKind.Management, Email = "Yuri@Example.com" });
        Assert.Equal("yuri@example.com", created.ApiKey.Email);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => keys.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Subject = Requests.Subject("user:yuri"), Kind = KeyKind.Management, Email = "not an address",
        }).ResponseAsync)).StatusCode);
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Resend_IssuesANewToken_AndTheOldOneStopsWorking(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var admin = await ClientAsync(server, Admin);
        var zoe = await ClientAsync(server, "user:zoe", "zoe@example.com");
        var issued = (await admin.InviteMembersAsync(Invite(["zoe@example.com"], ["viewer"], 1))).Invitations[0];

        var resent = await admin.ResendInvitationAsync(new ResendInvitationRequest { Id = issued.Id });

        Assert.Equal(issued.Id, resent.Invitation.Id);
        Assert.NotEqual(issued.Token, resent.Invitation.Token);
        Assert.True(resent.Invitation.ExpiresAt.ToDateTime() > issued.ExpiresAt.ToDateTime(), "the expiry is extended");
        var listed = await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) });
        Assert.Equal(InvitationState.Pending, Assert.Single(listed.Invitations).State);

        var old = await Assert.ThrowsAsync<RpcException>(() => zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, old.StatusCode);
        var accepted = await zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = resent.Invitation.Token });
        Assert.Contains("organization:northwind#viewer@user:zoe", accepted.Changes.Added.Select(Requests.Text));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task OwnerInvitation_AdminCannotSeeResendOrRevokeIt(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var admin = await ClientAsync(server, Admin);
        var issued = (await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["owner"]))).Invitations[0];
        var revision = await server.RevisionAsync();

        // A002-4: admins cannot touch an invitation for an owner.
        foreach (var call in new Func<Task>[]
        {
            () => admin.ResendInvitationAsync(new ResendInvitationRequest { Id = issued.Id }).ResponseAsync,
            () => admin.RevokeInvitationAsync(new RevokeInvitationRequest { Id = issued.Id }).ResponseAsync,
        })
        {
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        Assert.Equal(revision, await server.RevisionAsync());
        Assert.Empty((await admin.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) })).Invitations);
        Assert.Single((await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) })).Invitations);
        Assert.Single((await new ManagementService.ManagementServiceClient(server.Channel)
            .ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) })).Invitations);

        // Unknown and malformed ids.
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() =>
            owner.RevokeInvitationAsync(new RevokeInvitationRequest { Id = "inv_missing" }).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() =>
            owner.RevokeInvitationAsync(new RevokeInvitationRequest { Id = "bad id" }).ResponseAsync)).StatusCode);

        // The owner may.
        await owner.ResendInvitationAsync(new ResendInvitationRequest { Id = issued.Id });
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Revoke_ThenAccept_FailsAsRevoked(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var zoe = await ClientAsync(server, "user:zoe", "zoe@example.com");
        var issued = (await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"]))).Invitations[0];

        var revoked = await owner.RevokeInvitationAsync(new RevokeInvitationRequest { Id = issued.Id });
        Assert.Equal(InvitationState.Revoked, revoked.Invitation.State);
        var revision = await server.RevisionAsync();

        var accept = await Assert.ThrowsAsync<RpcException>(() => zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, accept.StatusCode);
        Assert.Contains("revoked", accept.Status.Detail, StringComparison.Ordinal);
        foreach (var call in new Func<Task>[]
        {
            () => owner.ResendInvitationAsync(new ResendInvitationRequest { Id = issued.Id }).ResponseAsync,
            () => owner.RevokeInvitationAsync(new RevokeInvitationRequest { Id = issued.Id }).ResponseAsync,
        })
        {
            Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        Assert.Equal(revision, await server.RevisionAsync());
        var check = await server.Authorization.CheckAsync(Requests.Check("user:zoe", "create_api_tokens", Org));
        Assert.Equal(Decision.Denied, check.Decision);

        // Revoked, it no longer blocks a new invitation of the same address.
        await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"]));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task Expired_CannotBeAccepted_AndListsAsExpired(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StoreServer.StartAsync(database, clock: clock);
        var owner = await ClientAsync(server, Owner);
        var zoe = await ClientAsync(server, "user:zoe", "zoe@example.com");
        var issued = (await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"], 1))).Invitations[0];

        // Still open a minute before its hour is up; expired a minute after.
        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(InvitationState.Pending, Assert.Single((await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) })).Invitations).State);
        clock.Advance(TimeSpan.FromMinutes(2));

        var revision = await server.RevisionAsync();
        var accept = await Assert.ThrowsAsync<RpcException>(() => zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = issued.Token }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, accept.StatusCode);
        Assert.Contains("expired", accept.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(() =>
            owner.ResendInvitationAsync(new ResendInvitationRequest { Id = issued.Id }).ResponseAsync)).StatusCode);
        Assert.Equal(revision, await server.RevisionAsync());

        Assert.Empty((await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org) })).Invitations);
        var all = await owner.ListInvitationsAsync(new ListInvitationsRequest { Resource = Requests.Object(Org), IncludeClosed = true });
        Assert.Equal(InvitationState.Expired, Assert.Single(all.Invitations).State);

        // Expired, it no longer blocks a new invitation of the same address.
        await owner.InviteMembersAsync(Invite(["zoe@example.com"], ["developer"]));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task EveryChange_IsAudited_WithoutTheToken(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        var owner = await ClientAsync(server, Owner);
        var zoe = await ClientAsync(server, "user:zoe", "zoe@example.com");
        var first = (await owner.InviteMembersAsync(Invite(["zoe@example.com, yuri@example.com"], ["developer"]))).Invitations;
        var resent = await owner.ResendInvitationAsync(new ResendInvitationRequest { Id = first[0].Id });
        await owner.RevokeInvitationAsync(new RevokeInvitationRequest { Id = first[1].Id });
        await zoe.AcceptInvitationAsync(new AcceptInvitationRequest { Token = resent.Invitation.Token });

        var events = (await server.Store.Audit.ReadAsync()).Where(e => e.Operation is "InviteMember" or "ResendInvitation" or "RevokeInvitation" or "AcceptInvitation").ToList();
        Assert.Equal(["InviteMember", "InviteMember", "ResendInvitation", "RevokeInvitation", "AcceptInvitation"], events.Select(e => e.Operation));
        Assert.All(events, e => Assert.Equal(Org, e.Target));
        Assert.Equal([Owner, Owner, Owner, Owner, "user:zoe"], events.Select(e => e.Actor));
        var secrets = new List<string> { first[0].Token, first[1].Token, resent.Invitation.Token };
        var stored = await server.Store.Invitations.ListAsync(new Core.Model.ObjectRef("organization", "northwind"));
        secrets.AddRange(stored.Select(i => i.TokenHash));
        foreach (var e in events)
        {
            var text = $"{e.Before} {e.After}";
            Assert.All(secrets, secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
        }

        Assert.Contains("organization:northwind#developer@user:zoe", events[^1].After, StringComparison.Ordinal);

        // Through the API too.
        var listed = await new ManagementService.ManagementServiceClient(server.Channel).ListAuditEventsAsync(new ListAuditEventsRequest { Resource = Requests.Object(Org) });
        Assert.Contains(listed.Events, e => e.Operation == "AcceptInvitation" && e.Actor == "user:zoe");
        server.AssertNoErrors();
    }

    // A management key for the subject; with an email, the key carries it as verified (what accepting needs).
    private static async Task<ManagementService.ManagementServiceClient> ClientAsync(StoreServer server, string subject, string? email = null) =>
        new(await server.ChannelForAsync(subject, email: email));

    private static InviteMembersRequest Invite(string[] emails, string[] roles, int hours = 0) => new()
    {
        Resource = Requests.Object(Org),
        Emails = { emails },
        Roles = { roles },
        ExpiresInHours = hours,
    };
}
