using AuthzGrpc.Cache;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Expiring relationships through the real servers: a time-boxed grant written through RelationshipService counts until
/// its expiry and not from then on, judged by the server's clock (moved by the test), on every path — the shared graph's
/// near cache and Redis, a second replica, fully consistent checks, reads and lookups — with nothing deleted meanwhile.
/// </summary>
public sealed class ExpirationTests
{
    private const string Schema = """
        use expiration

        definition user {}

        definition environment {
            relation deployer: user | user with expiration
            permission deploy = deployer
        }
        """;

    private static readonly CheckRequest AnnDeploysProd = Check("user:ann", "deploy", "environment:prod");

    [Theory]
    [MemberData(nameof(TestDatabase.ProviderNames), MemberType = typeof(TestDatabase))]
    public async Task ExpiringGrant_IsAllowed_ThenDenied_OnceTheClockPassesIt_ThroughTheSharedGraph_AndASecondReplica(string provider)
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var database = TestDatabase.Create(provider);
        var folder = Directory.CreateTempSubdirectory("authz-expiration-");
        try
        {
            var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 9, 0, 0, TimeSpan.Zero));
            var settings = Settings(folder, redis);
            await using var a = await StoreServer.StartAsync(database, settings, clock);
            await using var b = await StoreServer.StartAsync(database, settings, clock);
            await WaitUntilServingAsync(a);
            await WaitUntilServingAsync(b);

            // Deploy rights for an hour (the microseconds are kept; the nanoseconds are not).
            var expiresAt = clock.GetUtcNow().AddHours(1).AddTicks(4567);
            var grant = Relationship("environment:prod#deployer@user:ann");
            grant.OptionalExpiresAt = Timestamp.FromDateTimeOffset(expiresAt);
            var written = await a.Relationships.WriteRelationshipsAsync(Write(new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = grant }));
            var atToken = new Consistency { AtLeast = written.Revision };

            foreach (var server in new[] { a, b })
            {
                Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(WithConsistency(AnnDeploysProd, atToken))).Decision);
                Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(AnnDeploysProd)).Decision);
            }

            var read = Assert.Single(await ReadAsync(b, atToken));
            Assert.Equal(Timestamp.FromDateTimeOffset(expiresAt.AddTicks(-7)), read.OptionalExpiresAt);

            // A second before its expiry it still counts; at its expiry it no longer does, on either replica.
            clock.Advance(expiresAt.AddTicks(-7) - clock.GetUtcNow() - TimeSpan.FromSeconds(1));
            Assert.Equal(Decision.Allowed, (await b.Authorization.CheckAsync(AnnDeploysProd)).Decision);
            clock.Advance(TimeSpan.FromSeconds(1));
            var fromGraph = SharedGraphTests.Graph(b).Metrics.Snapshot();
            foreach (var server in new[] { a, b })
            {
                Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(AnnDeploysProd)).Decision);
                Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(WithConsistency(AnnDeploysProd, atToken))).Decision);
                Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(WithConsistency(AnnDeploysProd, new Consistency { FullyConsistent = true }))).Decision);
                Assert.Empty(await ReadAsync(server, atToken));
                Assert.Empty(await LookupAsync(server));
            }

            // The denials on B came from the shared graph (its near cache or Redis), not only from its model.
            var after = SharedGraphTests.Graph(b).Metrics.Snapshot();
            Assert.True(after.NearCacheChecks + after.RedisChecks > fromGraph.NearCacheChecks + fromGraph.RedisChecks, $"{fromGraph} -> {after}");

            // An expired grant is not there: creating it again succeeds, and counts until its new expiry.
            grant.OptionalExpiresAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow().AddMinutes(30));
            var again = await b.Relationships.WriteRelationshipsAsync(Write(new V1.RelationshipUpdate { Operation = Operation.Create, Relationship = grant }));
            Assert.Equal(Decision.Allowed, (await a.Authorization.CheckAsync(WithConsistency(AnnDeploysProd, new Consistency { AtLeast = again.Revision }))).Decision);
            a.AssertNoErrors();
            b.AssertNoErrors();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Cleanup_DeletesWhatHasExpired_AndWatchReportsItAsAnExpiry()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var database = TestDatabase.Create("sqlite");
        var folder = Directory.CreateTempSubdirectory("authz-expiration-");
        try
        {
            var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 9, 0, 0, TimeSpan.Zero));
            var settings = Settings(folder, redis);
            settings["Authz:ExpirationCleanupIntervalMilliseconds"] = "60000";
            await using var server = await StoreServer.StartAsync(database, settings, clock);
            var expiresAt = clock.GetUtcNow().AddSeconds(30);
            var ann = Relationship("environment:prod#deployer@user:ann");
            ann.OptionalExpiresAt = Timestamp.FromDateTimeOffset(expiresAt);
            var written = await server.Relationships.WriteRelationshipsAsync(Write(
                new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = ann },
                Update(Operation.Touch, "environment:prod#deployer@user:bob")));
            using var watch = server.Authorization.Watch(new WatchRequest { AfterRevision = written.Revision });

            // The next minute of the server's clock runs the cleanup.
            clock.Advance(TimeSpan.FromMinutes(1));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
            var expired = watch.ResponseStream.Current;

            Assert.Equal(Storage.ModelStore.ExpireOperation, expired.Operation);
            var update = Assert.Single(expired.Updates);
            Assert.Equal(Operation.Delete, update.Operation);
            Assert.Equal("environment:prod#deployer@user:ann", Text(update.Relationship));
            Assert.Equal(Timestamp.FromDateTimeOffset(expiresAt), update.Relationship.OptionalExpiresAt);
            var kept = Assert.Single(await ReadAsync(server, new Consistency { AtLeast = expired.Revision }));
            Assert.Equal("environment:prod#deployer@user:bob", Text(kept));
            Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:bob", "deploy", "environment:prod"))).Decision);
            server.AssertNoErrors();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Expiry_OnASubjectTypeWithoutTheTrait_OrMissingWhereOnlyTheTraitIsAllowed_IsInvalid_AndChangesNothing(bool expiring)
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var database = TestDatabase.Create("sqlite");
        var folder = Directory.CreateTempSubdirectory("authz-expiration-");
        try
        {
            // Here 'deployer' takes expiring grants only, and 'owner' permanent ones only.
            var schema = Schema.Replace("relation deployer: user | user with expiration", "relation deployer: user with expiration\n    relation owner: user", StringComparison.Ordinal);
            await using var server = await StoreServer.StartAsync(database, Settings(folder, redis, schema));
            var before = await server.RevisionAsync();
            var update = Relationship(expiring ? "environment:prod#owner@user:ann" : "environment:prod#deployer@user:ann");
            if (expiring)
            {
                update.OptionalExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1));
            }

            var refused = await Assert.ThrowsAsync<RpcException>(() =>
                server.Relationships.WriteRelationshipsAsync(Write(new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = update })).ResponseAsync);

            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains(expiring ? "'user with expiration'" : "type 'user'", refused.Status.Detail, StringComparison.Ordinal);
            Assert.Equal(before, await server.RevisionAsync());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TimeBoxedGrantRole_ListsItsExpiry_ThenIsGoneFromChecksAndTheMemberList()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var database = TestDatabase.Create("sqlite");
        var folder = Directory.CreateTempSubdirectory("authz-expiration-");
        try
        {
            var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 9, 0, 0, TimeSpan.Zero));
            var schema = Schema.Replace("permission deploy = deployer", "relation owner: user\n    permission deploy = deployer\n    permission manage = owner\n    manage deployer by manage\n    members by manage", StringComparison.Ordinal);
            var settings = Settings(folder, redis, schema);
            await File.WriteAllTextAsync(settings["Authz:RelationshipsFile"]!, "environment:prod#owner@user:olive\n");
            await using var server = await StoreServer.StartAsync(database, settings, clock);
            var olive = new ManagementService.ManagementServiceClient(await server.ChannelForAsync("user:olive"));
            var until = clock.GetUtcNow().AddHours(8);

            var granted = await olive.GrantRoleAsync(new GrantRoleRequest
            {
                Resource = Object("environment:prod"),
                Role = "deployer",
                Subject = Subject("user:bob"),
                OptionalExpiresAt = Timestamp.FromDateTimeOffset(until),
            });
            var members = await olive.ListMembersAsync(new ListMembersRequest { Resource = Object("environment:prod") });

            Assert.Equal(Timestamp.FromDateTimeOffset(until), Assert.Single(granted.Changes.Added).OptionalExpiresAt);
            var bob = Assert.Single(members.Members, m => Text(m.Subject) == "user:bob");
            Assert.Equal(Timestamp.FromDateTimeOffset(until), Assert.Single(bob.Roles).ExpiresAt);
            Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:bob", "deploy", "environment:prod"))).Decision);

            clock.Advance(TimeSpan.FromHours(8));
            Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Check("user:bob", "deploy", "environment:prod"))).Decision);
            Assert.DoesNotContain((await olive.ListMembersAsync(new ListMembersRequest { Resource = Object("environment:prod") })).Members, m => Text(m.Subject) == "user:bob");

            // Time-boxed through ChangeRoles, extended by SetRoles, made permanent by GrantRole: a grant never shortens.
            var twoHours = Timestamp.FromDateTimeOffset(clock.GetUtcNow().AddHours(2));
            var changed = await olive.ChangeRolesAsync(new ChangeRolesRequest
            {
                Subject = Subject("user:bob"),
                Changes = { new RoleChange { Resource = Object("environment:prod"), Mode = RoleChangeMode.Grant, Roles = { "deployer" }, OptionalExpiresAt = twoHours } },
            });
            Assert.Equal(twoHours, Assert.Single(changed.Changes.Added).OptionalExpiresAt);
            var fiveHours = Timestamp.FromDateTimeOffset(clock.GetUtcNow().AddHours(5));
            var set = await olive.SetRolesAsync(new SetRolesRequest { Resource = Object("environment:prod"), Subject = Subject("user:bob"), Roles = { "deployer" }, OptionalExpiresAt = fiveHours });
            Assert.Equal(fiveHours, Assert.Single(set.Changes.Added).OptionalExpiresAt);
            Assert.Empty((await olive.GrantRoleAsync(new GrantRoleRequest { Resource = Object("environment:prod"), Role = "deployer", Subject = Subject("user:bob"), OptionalExpiresAt = twoHours })).Changes.Added);
            Assert.Null(Assert.Single((await olive.GrantRoleAsync(new GrantRoleRequest { Resource = Object("environment:prod"), Role = "deployer", Subject = Subject("user:bob") })).Changes.Added).OptionalExpiresAt);
            clock.Advance(TimeSpan.FromDays(1));
            Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:bob", "deploy", "environment:prod"))).Decision);

            // A time-boxed invitation: accepted, its role counts until the access expiry the inviter set, shown in its listing.
            var access = Timestamp.FromDateTimeOffset(clock.GetUtcNow().AddHours(3));
            var sent = await olive.InviteMembersAsync(new InviteMembersRequest
            {
                Resource = Object("environment:prod"),
                Emails = { "dee@example.com" },
                Roles = { "deployer" },
                OptionalAccessExpiresAt = access,
            });
            var listed = (await olive.ListInvitationsAsync(new ListInvitationsRequest { Resource = Object("environment:prod") })).Invitations.Single(i => i.Email == "dee@example.com");
            Assert.Equal(access, listed.AccessExpiresAt);
            var dee = new ManagementService.ManagementServiceClient(await server.ChannelForAsync("user:dee", email: "dee@example.com"));
            var accepted = await dee.AcceptInvitationAsync(new AcceptInvitationRequest { Token = Assert.Single(sent.Invitations).Token });
            Assert.Equal(access, Assert.Single(accepted.Changes.Added).OptionalExpiresAt);
            Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:dee", "deploy", "environment:prod"))).Decision);
            clock.Advance(TimeSpan.FromHours(3));
            Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Check("user:dee", "deploy", "environment:prod"))).Decision);

            var malformed = await Assert.ThrowsAsync<RpcException>(() => olive.GrantRoleAsync(new GrantRoleRequest
            {
                Resource = Object("environment:prod"),
                Role = "deployer",
                Subject = Subject("user:cy"),
                OptionalExpiresAt = new Timestamp { Seconds = 1, Nanos = -1 },
            }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
            Assert.Contains("optional_expires_at", malformed.Status.Detail, StringComparison.Ordinal);
            server.AssertNoErrors();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Expiry_OutsideATimestampsRange_IsInvalidArgument()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        var grant = Relationship("project:storefront#viewer@user:zoe");
        grant.OptionalExpiresAt = new Timestamp { Seconds = 253402300800 };

        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            server.Relationships.WriteRelationshipsAsync(Write(new V1.RelationshipUpdate { Operation = Operation.Touch, Relationship = grant })).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("updates[0].relationship.optional_expires_at", refused.Status.Detail, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(DirectoryInfo folder, RedisProcess redis, string schema = Schema) =>
        new(ModelFiles.Settings(folder, redis, schema))
        {
            ["Authz:SyncIntervalMilliseconds"] = "200",
            // A day of the server's clock: no cleanup runs unless a test asks for one, so expired grants are denied
            // before anything deletes them.
            ["Authz:ExpirationCleanupIntervalMilliseconds"] = "86400000",
            // Generous for a busy 2-core machine: the test counts answers served by the graph.
            ["Authz:Redis:TimeoutMilliseconds"] = "3000",
        };

    private static async Task WaitUntilServingAsync(StoreServer server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (SharedGraphTests.Graph(server).Status != GraphStatus.Serving)
        {
            Assert.True(DateTime.UtcNow < deadline, "the shared graph did not serve within 20 s");
            await Task.Delay(20);
        }
    }

    private static async Task<List<V1.Relationship>> ReadAsync(StoreServer server, Consistency consistency)
    {
        using var call = server.Relationships.ReadRelationships(new ReadRelationshipsRequest
        {
            Filter = new RelationshipFilter { ResourceType = "environment" },
            Consistency = consistency,
        });
        var read = new List<V1.Relationship>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            read.Add(call.ResponseStream.Current.Relationship);
        }

        return read;
    }

    private static async Task<List<string>> LookupAsync(StoreServer server)
    {
        using var call = server.Authorization.LookupResources(new LookupResourcesRequest
        {
            ResourceType = "environment",
            Action = "deploy",
            Subject = Subject("user:ann"),
            Consistency = new Consistency { FullyConsistent = true },
        });
        var found = new List<string>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            found.Add(call.ResponseStream.Current.Resource.Id);
        }

        return found;
    }
}
