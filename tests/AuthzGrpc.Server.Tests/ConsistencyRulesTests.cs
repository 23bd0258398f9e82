using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The same input gets the same rule on every RPC: a consistency token on ReadRelationships is judged as Check judges
/// it, and a time outside what a Timestamp holds is INVALID_ARGUMENT (it was INTERNAL on ListAuditEvents).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ConsistencyRulesTests(ServerFixture server) : ServerTest(server)
{
    [Theory]
    [InlineData(1_000_000, StatusCode.FailedPrecondition)]
    [InlineData(0, StatusCode.OK)]
    [InlineData(-1, StatusCode.InvalidArgument)]
    public async Task ReadRelationships_AtLeast_AnswersAsCheckDoes(long ahead, StatusCode expected)
    {
        var revision = await Server.Store.Model.CurrentRevisionAsync();
        var token = ahead < 0 ? "not-a-revision" : (revision + ahead).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var consistency = new Consistency { AtLeast = token };
        var check = Check("user:olivia", "deploy", "application:storefront-web");
        check.Consistency = consistency;

        var read = await StatusOfAsync(async () =>
        {
            using var call = new RelationshipService.RelationshipServiceClient(Server.Channel)
                .ReadRelationships(new ReadRelationshipsRequest { Filter = Filter("project"), Consistency = consistency });
            await call.ResponseStream.ReadAllAsync().ToListAsync();
        });
        var checked_ = await StatusOfAsync(() => Client.CheckAsync(check).ResponseAsync);

        Assert.Equal(expected, read);
        Assert.Equal(expected, checked_);
    }

    public static TheoryData<long, int, long, int> BadTimes => new()
    {
        { long.MaxValue, 0, 0, 0 },
        { long.MinValue, 0, 0, 0 },
        { 253_402_300_800, 0, 0, 0 },
        { 0, -1, 0, 0 },
        { 0, 1_000_000_000, 0, 0 },
        { 0, 0, -62_135_596_801, 0 },
        { 0, 0, 0, int.MinValue },
    };

    [Theory]
    [MemberData(nameof(BadTimes))]
    public async Task ListAuditEvents_ATimeOutOfRange_IsInvalidArgument(long sinceSeconds, int sinceNanos, long untilSeconds, int untilNanos)
    {
        var request = new ListAuditEventsRequest
        {
            Since = new Timestamp { Seconds = sinceSeconds, Nanos = sinceNanos },
            Until = new Timestamp { Seconds = untilSeconds, Nanos = untilNanos },
        };

        var error = await Assert.ThrowsAsync<RpcException>(() => new ManagementService.ManagementServiceClient(Server.Channel).ListAuditEventsAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("is not a valid time", error.Status.Detail, StringComparison.Ordinal);
    }

    private static async Task<StatusCode> StatusOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }
}
