using AuthzGrpc.Core.Model;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Object ids of 1,024 characters, SpiceDB's limit, on every path: stored (SQLite and PostgreSQL), checked by the engine
/// and from the shared graph's records in Redis, looked up both ways, read back; one character more is INVALID_ARGUMENT
/// and changes nothing.
/// </summary>
public sealed class LongIdTests
{
    private const string TicketDefinition = "\ndefinition ticket {\n    relation reporter: user | group#member\n    permission view = reporter\n}\n";

    private static readonly string Ticket = "ticket:" + LongId("t-");
    private static readonly string Group = "group:" + LongId("g/");
    private static readonly string User = "user:" + LongId("u|");

    [Fact]
    public async Task IdsOf1024Characters_AreCheckedFromTheSharedGraph_AndLookedUp()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await SharedGraphTests.StartServingAsync(database, redis);
        var served = SharedGraphTests.Graph(server).Metrics.Snapshot();

        await AssertLongIdsAnsweredAsync(server);

        var after = SharedGraphTests.Graph(server).Metrics.Snapshot();
        Assert.True(after.NearCacheChecks + after.RedisChecks > served.NearCacheChecks + served.RedisChecks, "no check was answered from the shared graph");
    }

    [Fact]
    public async Task IdsOf1024Characters_AreStoredInPostgreSql()
    {
        await using var database = TestDatabase.Create(Storage.StorageProvider.Postgres);
        await using var server = await StoreServer.StartAsync(database);

        await AssertLongIdsAnsweredAsync(server);
    }

    private static async Task AssertLongIdsAnsweredAsync(StoreServer server)
    {
        Assert.Equal(Identifiers.MaxIdLength, Ticket.Length - "ticket:".Length);
        var schema = (await server.Schema.ReadSchemaAsync(new ReadSchemaRequest())).Schema + TicketDefinition;
        await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = schema });
        await server.Relationships.WriteRelationshipsAsync(Write(
            Update(Operation.Create, $"{Ticket}#reporter@{Group}#member"),
            Update(Operation.Create, $"{Group}#member@{User}")));

        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check(User, "view", Ticket))).Decision);
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Check("user:" + LongId("v|"), "view", Ticket))).Decision);
        var resources = await server.Authorization.LookupResources(new LookupResourcesRequest { Subject = Subject(User), Action = "view", ResourceType = "ticket" }).ResponseStream.ReadAllAsync().ToListAsync();
        Assert.Equal([Ticket], resources.Select(r => Text(r.Resource)));
        var subjects = await server.Authorization.LookupSubjects(new LookupSubjectsRequest { Resource = Object(Ticket), Action = "view", SubjectType = "user" }).ResponseStream.ReadAllAsync().ToListAsync();
        Assert.Equal([User], subjects.Select(s => Text(s.Subject)));
        var stored = await server.Relationships.ReadRelationships(new ReadRelationshipsRequest { Filter = Filter("ticket") }).ResponseStream.ReadAllAsync().ToListAsync();
        Assert.Equal([$"{Ticket}#reporter@{Group}#member"], stored.Select(r => Text(r.Relationship)));

        // One character more: refused before anything is read or written.
        var revision = await server.RevisionAsync();
        var tooLong = "ticket:" + LongId("t-") + "x";
        var check = await Assert.ThrowsAsync<RpcException>(() => server.Authorization.CheckAsync(Check(User, "view", tooLong)).ResponseAsync);
        var write = await Assert.ThrowsAsync<RpcException>(() => server.Relationships.WriteRelationshipsAsync(Write(Update(Operation.Create, $"{tooLong}#reporter@{User}"))).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, StatusCode.InvalidArgument), (check.StatusCode, write.StatusCode));
        Assert.Contains($"the limit is {Identifiers.MaxIdLength}", check.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(revision, await server.RevisionAsync());
        server.AssertNoErrors();
    }

    // An id of exactly the limit, of the characters ids may hold (prefix tells the three apart).
    private static string LongId(string prefix) =>
        string.Concat(Enumerable.Repeat(prefix + "Az09_-./|=+", Identifiers.MaxIdLength))[..Identifiers.MaxIdLength];
}
