using System.Globalization;
using System.Text.RegularExpressions;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;
using static AuthzGrpc.Server.Tests.ManagementServiceTests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// ManagementService.WatchEvents (R34): the audit log streamed as change events for systems outside the service, on
/// the objects model of <see cref="ManagementServiceTests"/> (olivia owns organization:acme; uma and gus are members,
/// gus also in group:eng and a viewer of project:docs; pam administers project:web).
/// </summary>
public sealed class ManagementEventTests
{
    // Long enough for a poll on a loaded machine; a stream that works delivers far sooner.
    private static readonly TimeSpan StreamTimeout = TimeSpan.FromSeconds(60);

    // The projects that write audit events.
    private static readonly string[] AuditingProjects = ["src/AuthzGrpc.Storage", "src/AuthzGrpc.Server"];

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WatchEvents_StartedBeforeManagementCalls_ReceivesTheirEventsInOrder_WithTheirTypes(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StartObjectsServerAsync(database);
        // The callers' keys first: creating a key is an event too (api_key.created).
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        var watcher = Client(server.Channel);
        using var timeout = new CancellationTokenSource(StreamTimeout);
        using var watch = watcher.WatchEvents(new WatchEventsRequest(), cancellationToken: timeout.Token);
        // The server sends the headers once it has fixed where the stream starts.
        await watch.ResponseHeadersAsync;

        var granted = (await olivia.GrantRoleAsync(Grant("project:docs", "admin", "user:uma"))).Changes;
        await olivia.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object("project:docs"), Role = "admin", Subject = Subject("user:uma") });
        await olivia.CreateResourceAsync(new CreateResourceRequest { Resource = Object("group:ops"), Parent = Object("organization:acme"), Name = "Ops" });
        await olivia.UpdateResourceAsync(new UpdateResourceRequest { Resource = Object("group:ops"), Name = "Operations" });
        var invited = await olivia.InviteMembersAsync(new InviteMembersRequest { Resource = Object("project:docs"), Emails = { "zoe@example.com" }, Roles = { "viewer" } });
        var invitation = invited.Invitations.Single();
        var resent = await olivia.ResendInvitationAsync(new ResendInvitationRequest { Id = invitation.Id });
        await olivia.RevokeInvitationAsync(new RevokeInvitationRequest { Id = invitation.Id });
        var removal = (await olivia.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:acme"), Subject = Subject("user:gus") })).Changes;

        string[] expected =
        [
            "role.granted", "role.revoked", "resource.created", "resource.updated",
            "invitation.created", "invitation.resent", "invitation.revoked", "member.removed",
        ];
        var events = new List<ManagementEvent>();
        while (events.Count < expected.Length)
        {
            Assert.True(await watch.ResponseStream.MoveNext(timeout.Token), "the stream ended early");
            events.Add(watch.ResponseStream.Current);
        }

        Assert.Equal(expected, events.Select(e => e.Type));
        Assert.Equal(events.Select(e => e.Audit.Id).Order(), events.Select(e => e.Audit.Id));
        Assert.Equal(events.Count, events.Select(e => e.Audit.Id).Distinct().Count());
        Assert.All(events, e => Assert.Equal("user:olivia", e.Audit.Actor));

        // Each event is the audit event ListAuditEvents shows.
        var logged = await ReadAllAsync(watcher, new ListAuditEventsRequest { PageSize = 1000 });
        Assert.All(events, e => Assert.Equal(logged.Single(l => l.Id == e.Audit.Id), e.Audit));

        // What a mailer needs: the invitee's email, the resource and the roles...
        var created = events.Single(e => e.Type == "invitation.created");
        Assert.Equal("project:docs", created.Audit.Target);
        Assert.Contains("zoe@example.com", created.Audit.After, StringComparison.Ordinal);
        Assert.Contains(invitation.Id, created.Audit.After, StringComparison.Ordinal);
        Assert.Contains("viewer", created.Audit.After, StringComparison.Ordinal);
        // ...and never a token or a token's hash (only the inviter receives the token).
        var stored = await server.Store.Invitations.FindAsync(invitation.Id);
        string[] secrets = [invitation.Token, resent.Invitation.Token, stored!.TokenHash, Hash(invitation.Token)];
        Assert.All(events, e => Assert.All(secrets, secret => Assert.DoesNotContain(secret, e.ToString(), StringComparison.Ordinal)));

        // The removal says which grants the cascade took: gus's roles in the organization and everything it contains.
        var removed = events.Single(e => e.Type == "member.removed");
        Assert.Equal(
            ["group:eng#member@user:gus", "organization:acme#member@user:gus", "project:docs#viewer@user:gus"],
            Texts(removed.Removed));
        Assert.Equal(Texts(removal.Removed), Texts(removed.Removed));
        Assert.Empty(removed.Added);
        Assert.Equal(removal.Revision, removed.Audit.Revision);

        // A grant lists what it added; a rename, what the record was and became.
        Assert.Equal(Texts(granted.Added), Texts(events[0].Added));
        Assert.Contains("project:docs#admin@user:uma", Texts(events[0].Added));
        Assert.Equal(["project:docs#admin@user:uma"], Texts(events[1].Removed));
        Assert.Contains("Operations", events.Single(e => e.Type == "resource.updated").Audit.After, StringComparison.Ordinal);

        // The client going away ends the call without an error on the server.
        watch.Dispose();
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WatchEvents_AfterAnId_ReplaysFromThere_ThenStreamsNewOnes(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StartObjectsServerAsync(database);
        var olivia = Client(await server.ChannelForAsync("user:olivia"));
        await olivia.GrantRoleAsync(Grant("project:docs", "viewer", "user:uma"));
        await olivia.GrantRoleAsync(Grant("project:web", "viewer", "user:uma"));
        await olivia.SetRolesAsync(new SetRolesRequest { Resource = Object("project:web"), Subject = Subject("user:uma"), Roles = { "admin" } });
        var log = await server.Store.Audit.ReadAsync(limit: 100_000);
        var watcher = Client(server.Channel);
        using var timeout = new CancellationTokenSource(StreamTimeout);

        // From 0: the whole log, oldest first.
        using (var whole = watcher.WatchEvents(new WatchEventsRequest { AfterId = "0" }, cancellationToken: timeout.Token))
        {
            var all = await ReadAsync(whole, log.Count, timeout.Token);
            Assert.Equal(log.Select(e => e.Id), all.Select(e => e.Audit.Id));
            Assert.Equal(log.Select(e => ManagementEvents.TypeOf(e.Operation)), all.Select(e => e.Type));
            // Opening a stream is logged with where it starts (before anything is sent).
            Assert.Contains(server.Logs.Since(0), e => e.EventId.Name == "EventStreamOpened" && e.Message.Contains("after event 0", StringComparison.Ordinal));
        }

        // Resuming after an event: the ones after it, in order, then what commits next.
        var resumeAfter = log[^3].Id;
        using var resumed = watcher.WatchEvents(new WatchEventsRequest { AfterId = resumeAfter.ToString(CultureInfo.InvariantCulture) }, cancellationToken: timeout.Token);
        var replayed = await ReadAsync(resumed, 2, timeout.Token);
        Assert.Equal(log.TakeLast(2).Select(e => e.Id), replayed.Select(e => e.Audit.Id));
        Assert.Equal(["role.granted", "roles.set"], replayed.Select(e => e.Type));

        // A new API key (for gus) is an event of its own, never with its secret; then olivia removes uma.
        _ = await server.ChannelForAsync("user:gus");
        var removal = await olivia.RemoveMemberAsync(new RemoveMemberRequest { Resource = Object("organization:acme"), Subject = Subject("user:uma") });
        var next = await ReadAsync(resumed, 2, timeout.Token);
        Assert.Equal(["api_key.created", "member.removed"], next.Select(e => e.Type));
        Assert.True(next[0].Audit.Id > replayed[^1].Audit.Id && next[1].Audit.Id > next[0].Audit.Id);
        Assert.DoesNotContain("azk_", next[0].ToString(), StringComparison.Ordinal);
        Assert.Equal(Texts(removal.Changes.Removed), Texts(next[1].Removed));
        Assert.Contains("project:web#admin@user:uma", Texts(next[1].Removed));
        server.AssertNoErrors();
    }

    [Fact]
    public async Task WatchEvents_WithACheckOrManagementKey_IsPermissionDenied()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);

        foreach (var kind in new[] { KeyKind.Check, KeyKind.Management })
        {
            var client = Client(await server.ChannelForAsync("user:olivia", kind));
            using var watch = client.WatchEvents(new WatchEventsRequest { AfterId = "0" });
            var error = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
            Assert.Contains("needs an admin key", error.Status.Detail, StringComparison.Ordinal);
        }

        server.AssertNoErrors();
    }

    [Theory]
    [InlineData("abc", StatusCode.InvalidArgument)]
    [InlineData("-1", StatusCode.InvalidArgument)]
    [InlineData("1.5", StatusCode.InvalidArgument)]
    [InlineData(" 1", StatusCode.InvalidArgument)]
    [InlineData("+1", StatusCode.InvalidArgument)]
    [InlineData("99999999999999999999999", StatusCode.InvalidArgument)]
    [InlineData("9223372036854775807", StatusCode.FailedPrecondition)]
    public async Task WatchEvents_BadAfterId_IsRefusedBeforeStreaming(string afterId, StatusCode expected)
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var before = await Snapshot.TakeAsync(server);

        using var watch = Client(server.Channel).WatchEvents(new WatchEventsRequest { AfterId = afterId });
        var error = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(expected, error.StatusCode);
        Assert.Contains("after_id", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await Snapshot.TakeAsync(server));
        server.AssertNoErrors();
    }

    [Fact]
    public void EveryAuditedOperation_HasAStableType()
    {
        // The operation names the store and the services record, read from their source: a new one without a type
        // would reach consumers as "other".
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "AuthzGrpc.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var sources = AuditingProjects
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(root.FullName, folder), "*.cs", SearchOption.AllDirectories))
            .Where(file => !file.Contains("Migrations", StringComparison.Ordinal))
            .Select(File.ReadAllText);
        var recorded = sources
            .SelectMany(text => Regex.Matches(text, @"(?:unit\.Audit\(|ManageAsync\(|CommitAsync\()""(?<operation>[A-Z][A-Za-z]+)""").Select(m => m.Groups["operation"].Value))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Contains("InviteMember", recorded);
        Assert.Contains("UpdateResource", recorded);
        Assert.Contains("CreateApiKey", recorded);
        Assert.All(recorded, operation => Assert.NotEqual(ManagementEvents.OtherType, ManagementEvents.TypeOf(operation)));
        Assert.Equal(ManagementEvents.TypesByOperation.Count, ManagementEvents.TypesByOperation.Values.Distinct().Count());
        Assert.All(ManagementEvents.TypesByOperation.Values, type => Assert.Matches("^[a-z_]+\\.[a-z_]+$", type));
    }

    private static async Task<List<ManagementEvent>> ReadAsync(AsyncServerStreamingCall<ManagementEvent> call, int count, CancellationToken cancellationToken)
    {
        var events = new List<ManagementEvent>();
        while (events.Count < count)
        {
            Assert.True(await call.ResponseStream.MoveNext(cancellationToken), "the stream ended early");
            events.Add(call.ResponseStream.Current);
        }

        return events;
    }

    // The server keeps the SHA-256 of a token, lowercase hex.
    private static string Hash(string token) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));
}
