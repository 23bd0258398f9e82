using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// 200 concurrent WriteRelationships from 40 clients: every acknowledged call is accounted for, in revision order,
/// by the store, the change log, the audit log and the engine.
/// </summary>
public sealed class ConcurrencyTests
{
    private const int Clients = 40;
    private const int CallsPerClient = 5;
    private const string Schema = """
        definition user {}

        definition doc {
            relation viewer: user
            relation editor: user
            permission view = viewer + editor
        }
        """;

    private static readonly string[] Relations = ["viewer", "editor"];

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ConcurrentWrites_FromManyClients_ReplayInRevisionOrderToTheStoredState(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:RelationshipsFile"] = "" });
        var start = long.Parse((await server.Schema.WriteSchemaAsync(new WriteSchemaRequest { Schema = Schema })).Revision, System.Globalization.CultureInfo.InvariantCulture);

        // Every client its own channel (its own HTTP/2 connection); all 200 calls in flight together.
        var channels = Enumerable.Range(0, Clients).Select(_ => server.NewChannel()).ToList();
        try
        {
            var calls = Enumerable.Range(0, Clients * CallsPerClient).Select(i => Task.Run(async () =>
            {
                var request = RandomBatch(new Random(i));
                var client = new RelationshipService.RelationshipServiceClient(channels[i % Clients]);
                var response = await client.WriteRelationshipsAsync(request);
                return (Revision: long.Parse(response.Revision, System.Globalization.CultureInfo.InvariantCulture), Request: request);
            }));
            var acknowledged = await Task.WhenAll(calls);

            // Distinct, gap-free, right after the schema's revision.
            var revisions = acknowledged.Select(a => a.Revision).Order().ToList();
            Assert.Equal(Enumerable.Range(1, Clients * CallsPerClient).Select(i => start + i), revisions);

            // Replaying the acknowledged calls in revision order gives exactly what is stored.
            var expected = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (_, request) in acknowledged.OrderBy(a => a.Revision))
            {
                foreach (var update in request.Updates)
                {
                    if (update.Operation == Operation.Delete)
                    {
                        expected.Remove(Text(update.Relationship));
                    }
                    else
                    {
                        expected.Add(Text(update.Relationship));
                    }
                }
            }

            var sorted = expected.Order(StringComparer.Ordinal).ToList();
            Assert.Equal(sorted, await Snapshot.StoredAsync(server.Store));
            var (read, readRevision) = await Snapshot.ReadAsync(server.Relationships, Filter("doc"));
            Assert.Equal(sorted, read);
            Assert.Equal(revisions[^1].ToString(System.Globalization.CultureInfo.InvariantCulture), readRevision);

            // The change log holds exactly these revisions, and replaying it gives the same state.
            var log = await server.Store.Model.ReadChangesAsync(start);
            Assert.Equal(revisions, log.Select(c => c.Revision));
            var replayed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var change in log.SelectMany(c => c.Changes))
            {
                Assert.True(change.Operation == Core.Engine.RelationshipOperation.Delete
                    ? replayed.Remove(change.Relationship.ToString())
                    : replayed.Add(change.Relationship.ToString()));
            }

            Assert.Equal(sorted, replayed.Order(StringComparer.Ordinal));

            // One audit event per acknowledged call, at its revision.
            var audit = (await server.Store.Audit.ReadAsync(limit: 10_000)).Where(a => a.Revision > start).ToList();
            Assert.Equal(revisions, audit.Select(a => a.Revision).Order());
            // Every client sent the bootstrap admin key, so every write acted as its subject.
            Assert.All(audit, a => Assert.Equal((AuthzGrpc.Testing.TestKeys.AdminSubject, "WriteRelationships"), (a.Actor, a.Operation)));

            // The engine agrees with the store on every relationship that could exist.
            var batch = new BatchCheckRequest();
            var universe = Universe().ToList();
            foreach (var relationship in universe)
            {
                var parsed = Relationship(relationship);
                batch.Items.Add(new CheckRequest { Subject = parsed.Subject, Action = parsed.Relation, Resource = parsed.Resource });
            }

            var answers = await server.Authorization.BatchCheckAsync(batch);
            Assert.Equal(revisions[^1].ToString(System.Globalization.CultureInfo.InvariantCulture), answers.Revision);
            for (var i = 0; i < universe.Count; i++)
            {
                Assert.True(
                    (answers.Results[i].Decision == Decision.Allowed) == expected.Contains(universe[i]),
                    $"{universe[i]}: engine says {answers.Results[i].Decision}, store says {(expected.Contains(universe[i]) ? "stored" : "absent")}");
            }

            server.AssertNoErrors();
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    // 4 docs x 2 relations x 6 users: small enough that calls collide on the same relationships.
    private static IEnumerable<string> Universe() =>
        from doc in Enumerable.Range(0, 4)
        from relation in Relations
        from user in Enumerable.Range(0, 6)
        select $"doc:d{doc}#{relation}@user:u{user}";

    private static WriteRelationshipsRequest RandomBatch(Random random)
    {
        var request = new WriteRelationshipsRequest();
        var size = random.Next(1, 5);
        for (var i = 0; i < size; i++)
        {
            var relationship = $"doc:d{random.Next(4)}#{Relations[random.Next(2)]}@user:u{random.Next(6)}";
            request.Updates.Add(Update(random.Next(3) == 0 ? Operation.Delete : Operation.Touch, relationship));
        }

        return request;
    }
}
