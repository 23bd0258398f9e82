using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using Npgsql;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Two replicas on one PostgreSQL judge management calls at once: each judges against the model it holds, and the
/// database-wide write lock is taken only at commit. A write is committed only on top of the revision it was judged at,
/// otherwise judged again, so a rule that depends on the state (the last owner stays) holds across replicas as it does
/// within one. The race is made certain, not likely: the test holds the database's write lock while both replicas judge,
/// and lets go once both wait on it.
/// </summary>
public sealed class CrossReplicaWriteTests
{
    private static readonly ObjectRef Northwind = Object("organization:northwind");

    [Fact]
    public async Task TheTwoOwnersLeavingThroughTwoReplicasAtOnce_OneIsRefused_AndOneOwnerStays()
    {
        await using var database = TestDatabase.Create(StorageProvider.Postgres);
        await using var a = await StoreServer.StartAsync(database);
        await using var b = await StoreServer.StartAsync(database);

        // zoe becomes northwind's second owner (olivia is its owner in the default model).
        var oliviaOnA = new ManagementService.ManagementServiceClient(await a.ChannelForAsync("user:olivia"));
        var zoeOnB = new ManagementService.ManagementServiceClient(await b.ChannelForAsync("user:zoe"));
        await oliviaOnA.GrantRoleAsync(new GrantRoleRequest { Resource = Northwind, Role = "owner", Subject = Subject("user:zoe") });

        (StatusCode Status, string Detail)[] outcomes;
        await using (var holder = new NpgsqlConnection(database.ConnectionString))
        {
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var take = new NpgsqlCommand("SELECT 1 FROM revision_counter WHERE id = 1 FOR UPDATE", holder, transaction))
            {
                await take.ExecuteScalarAsync();
            }

            // Each replica judges its Leave against two owners, allows it, and waits for the write lock to commit.
            var leaves = new[] { LeaveAsync(oliviaOnA), LeaveAsync(zoeOnB) };
            await UntilWaitingForTheWriteLockAsync(database.ConnectionString, writers: 2);
            await transaction.CommitAsync();
            outcomes = await Task.WhenAll(leaves);
        }

        Assert.Single(outcomes, o => o.Status == StatusCode.OK);
        var refused = Assert.Single(outcomes, o => o.Status != StatusCode.OK);
        Assert.Equal(StatusCode.FailedPrecondition, refused.Status);
        Assert.Contains("minimum 1 owner", refused.Detail, StringComparison.Ordinal);

        // What is stored, read through both replicas: exactly one owner is left.
        foreach (var replica in new[] { a, b })
        {
            using var read = replica.Relationships.ReadRelationships(new ReadRelationshipsRequest
            {
                Filter = new RelationshipFilter { ResourceType = "organization", ResourceId = "northwind", Relation = "owner" },
                Consistency = new Consistency { FullyConsistent = true },
            });
            Assert.Equal(1, await read.ResponseStream.ReadAllAsync().CountAsync());
        }

        a.AssertNoErrors();
        b.AssertNoErrors();
    }

    private static async Task<(StatusCode Status, string Detail)> LeaveAsync(ManagementService.ManagementServiceClient client)
    {
        try
        {
            await client.LeaveAsync(new LeaveRequest { Resource = Northwind });
            return (StatusCode.OK, string.Empty);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail);
        }
    }

    // Until that many sessions wait for the revision counter's row lock (a writer's first statement). Asked on a
    // connection of its own: within a transaction, pg_stat_activity answers the snapshot it took first.
    private static async Task UntilWaitingForTheWriteLockAsync(string connectionString, int writers)
    {
        await using var observer = new NpgsqlConnection(connectionString);
        await observer.OpenAsync();
        const string Waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%revision_counter%FOR UPDATE%' AND pid <> pg_backend_pid()";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await using var count = new NpgsqlCommand(Waiting, observer);
            var waiting = (long)(await count.ExecuteScalarAsync())!;
            if (waiting >= writers)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{waiting} of {writers} writers waited for the write lock within 30 s");
            await Task.Delay(20);
        }
    }
}
