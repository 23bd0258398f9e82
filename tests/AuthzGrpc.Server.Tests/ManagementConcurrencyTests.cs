using System.Globalization;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Issue 3's acceptance: 200 concurrent GrantRole / RevokeRole calls from 20 callers, each with an API key of its own
/// (project admins of the default model's two projects), on a small set of users and roles so that calls collide.
/// Every acknowledged call is accounted for: replaying them in revision order gives the stored state, the audit log
/// has exactly one event per call that changed something, and the revisions are distinct, gap-free and ordered.
/// </summary>
public sealed class ManagementConcurrencyTests
{
    private const int Callers = 20;
    private const int Calls = 200;
    private static readonly string[] Projects = ["project:payments", "project:storefront"];
    private static readonly string[] Roles = ["developer", "viewer"];
    private static readonly string[] Users = [.. Enumerable.Range(0, 6).Select(i => $"user:u{i}")];

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ConcurrentGrantsAndRevokes_FromManyCallers_AreAllAccountedFor(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        // Npgsql's default pool (100) is PostgreSQL's default max_connections: 200 calls in flight, each authenticating
        // its key, would exhaust the server's connection slots (53300, answered INTERNAL). Bound the pool as a
        // deployment would.
        var settings = provider == "postgres"
            ? new Dictionary<string, string?> { ["Authz:Storage:ConnectionString"] = database.ConnectionString + ";Maximum Pool Size=30" }
            : null;
        await using var server = await StoreServer.StartAsync(database, settings);

        // 20 project admins of both projects, each with a key and a channel (an HTTP/2 connection) of its own.
        var callers = Enumerable.Range(0, Callers).Select(i => $"user:c{i:00}").ToList();
        var setup = new WriteRelationshipsRequest();
        foreach (var caller in callers)
        {
            foreach (var project in Projects)
            {
                setup.Updates.Add(Update(Operation.Touch, $"{project}#admin@{caller}"));
            }
        }

        await server.Relationships.WriteRelationshipsAsync(setup);
        var clients = new List<ManagementService.ManagementServiceClient>();
        foreach (var caller in callers)
        {
            clients.Add(new ManagementService.ManagementServiceClient(await server.ChannelForAsync(caller)));
        }

        var start = await server.RevisionAsync();
        var initial = await Snapshot.StoredAsync(server.Store);
        var lastEventId = (await server.Store.Audit.ReadAsync(limit: 100_000)).Max(e => e.Id);

        var tasks = Enumerable.Range(0, Calls).Select(i => Task.Run(async () =>
        {
            var random = new Random(i);
            var call = new Call(callers[i % Callers], random.Next(5) < 3, Projects[random.Next(Projects.Length)], Roles[random.Next(Roles.Length)], Users[random.Next(Users.Length)]);
            var client = clients[i % Callers];
            try
            {
                var changes = call.Grant
                    ? (await client.GrantRoleAsync(new GrantRoleRequest { Resource = Object(call.Resource), Role = call.Role, Subject = Subject(call.User) })).Changes
                    : (await client.RevokeRoleAsync(new RevokeRoleRequest { Resource = Object(call.Resource), Role = call.Role, Subject = Subject(call.User) })).Changes;
                return (Call: call, Changes: changes, Status: StatusCode.OK, Detail: string.Empty);
            }
            catch (RpcException e)
            {
                return (Call: call, Changes: (ManagementChanges?)null, Status: e.StatusCode, Detail: e.Status.Detail);
            }
        }));
        var outcomes = await Task.WhenAll(tasks);

        // The only refusal is revoking a role that is not held at that moment.
        Assert.All(outcomes.Where(o => o.Status != StatusCode.OK), o => Assert.True((false, StatusCode.NotFound) == (o.Call.Grant, o.Status), $"{o.Call}: {o.Status} {o.Detail}\n" + string.Join("\n", server.Logs.ErrorsSince(0))));
        var acknowledged = outcomes.Where(o => o.Status == StatusCode.OK).Select(o => (o.Call, Changes: o.Changes!)).ToList();
        var mutating = acknowledged.Where(a => a.Changes.Added.Count + a.Changes.Removed.Count > 0).ToList();
        Assert.True(mutating.Count >= 20, $"only {mutating.Count} calls changed something");
        Assert.Contains(mutating, m => !m.Call.Grant);

        // Revisions: distinct, gap-free, right after the start.
        var revisions = mutating.Select(m => Revision(m.Changes)).Order().ToList();
        Assert.Equal(Enumerable.Range(1, mutating.Count).Select(i => start + i), revisions);
        Assert.Equal(revisions[^1], await server.RevisionAsync());
        // A call that changed nothing answers with a revision that was already committed.
        Assert.All(acknowledged.Except(mutating), a => Assert.InRange(Revision(a.Changes), start, revisions[^1]));

        // Replaying the acknowledged calls in revision order (a call that changed nothing after the change it saw)
        // gives exactly the stored state; so does replaying what each call reported it changed.
        var expected = new HashSet<string>(initial, StringComparer.Ordinal);
        var reported = new HashSet<string>(initial, StringComparer.Ordinal);
        foreach (var (call, changes) in acknowledged.OrderBy(a => Revision(a.Changes)).ThenBy(a => a.Changes.Added.Count + a.Changes.Removed.Count == 0 ? 1 : 0))
        {
            if (call.Grant)
            {
                expected.Add($"{call.Resource}#{call.Role}@{call.User}");
                expected.Add($"{call.Resource}#participant@{call.User}");
                expected.Add($"organization:northwind#member@{call.User}");
            }
            else
            {
                Assert.True(expected.Remove($"{call.Resource}#{call.Role}@{call.User}"), $"{call} was acknowledged but the role was not held");
            }

            foreach (var removed in changes.Removed)
            {
                Assert.True(reported.Remove(Text(removed)), $"{call} removed {Text(removed)}, which was not there");
            }

            foreach (var added in changes.Added)
            {
                Assert.True(reported.Add(Text(added)), $"{call} added {Text(added)}, which was there");
            }
        }

        var stored = await Snapshot.StoredAsync(server.Store);
        Assert.Equal(expected.Order(StringComparer.Ordinal), stored);
        Assert.Equal(reported.Order(StringComparer.Ordinal), stored);

        // One audit event per call that changed something, at its revision, by its caller, naming what it did.
        var audit = (await server.Store.Audit.ReadAsync(afterId: lastEventId, limit: 100_000)).ToList();
        Assert.Equal(mutating.Count, audit.Count);
        Assert.Equal(revisions, audit.Select(a => a.Revision).Order());
        Assert.Equal(audit.OrderBy(a => a.Id).Select(a => a.Revision), audit.Select(a => a.Revision).Order());
        var byRevision = audit.ToDictionary(a => a.Revision);
        foreach (var (call, changes) in mutating)
        {
            var e = byRevision[Revision(changes)];
            Assert.Equal((call.Caller, call.Grant ? "GrantRole" : "RevokeRole", call.Resource), (e.Actor, e.Operation, e.Target));
            Assert.Contains($"{call.Resource}#{call.Role}@{call.User}", call.Grant ? e.After : e.Before, StringComparison.Ordinal);
        }

        // The change log agrees.
        var log = await server.Store.Model.ReadChangesAsync(start);
        Assert.Equal(revisions, log.Select(c => c.Revision));

        // The engine agrees with the store on every role the calls could touch.
        var universe = (from project in Projects from role in Roles from user in Users select $"{project}#{role}@{user}").ToList();
        var batch = new BatchCheckRequest();
        foreach (var relationship in universe)
        {
            var parsed = Relationship(relationship);
            batch.Items.Add(new CheckRequest { Subject = parsed.Subject, Action = parsed.Relation, Resource = parsed.Resource });
        }

        var answers = await server.Authorization.BatchCheckAsync(batch);
        for (var i = 0; i < universe.Count; i++)
        {
            Assert.True(
                (answers.Results[i].Decision == Decision.Allowed) == expected.Contains(universe[i]),
                $"{universe[i]}: engine says {answers.Results[i].Decision}, store says {(expected.Contains(universe[i]) ? "stored" : "absent")}");
        }

        server.AssertNoErrors();
    }

    private static long Revision(ManagementChanges changes) => long.Parse(changes.Revision, CultureInfo.InvariantCulture);

    private sealed record Call(string Caller, bool Grant, string Resource, string Role, string User);
}
