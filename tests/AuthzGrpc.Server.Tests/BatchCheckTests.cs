using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Rpc;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class BatchCheckTests(ServerFixture server) : ServerTest(server)
{
    [Fact]
    public async Task BatchCheck_MixedDecisions_KeepsRequestOrder()
    {
        // Alternate allowed and denied questions, so a reordering cannot pass unnoticed.
        var allowed = DefaultModelCases.Allowed.ToList();
        var denied = DefaultModelCases.Denied.ToList();
        var cases = new List<(object[] Row, Decision Expected)>();
        for (var i = 0; i < Math.Max(allowed.Count, denied.Count); i++)
        {
            if (i < allowed.Count)
            {
                cases.Add((allowed[i], Decision.Allowed));
            }

            if (i < denied.Count)
            {
                cases.Add((denied[i], Decision.Denied));
            }
        }

        var request = new BatchCheckRequest();
        foreach (var (row, _) in cases)
        {
            request.Items.Add(Check((string)row[0], (string)row[1], (string)row[2]));
        }

        var response = await Client.BatchCheckAsync(request);

        Assert.Equal(cases.Select(c => c.Expected), response.Results.Select(r => r.Decision));
        Assert.Equal("1", response.Revision);
        Assert.All(response.Results, r => Assert.Equal(response.Revision, r.Revision));
    }

    [Fact]
    public async Task BatchCheck_Empty_ReturnsNoResults()
    {
        var response = await Client.BatchCheckAsync(new BatchCheckRequest());

        Assert.Empty(response.Results);
        Assert.Equal("1", response.Revision);
    }

    [Fact]
    public async Task BatchCheck_AtTheItemLimit_AnswersEveryItem()
    {
        var request = new BatchCheckRequest();
        for (var i = 0; i < 1000; i++)
        {
            request.Items.Add(Check(i % 2 == 0 ? "user:devon" : "user:mallory", "view", "project:storefront"));
        }

        var response = await Client.BatchCheckAsync(request);

        Assert.Equal(1000, response.Results.Count);
        Assert.Equal(Decision.Allowed, response.Results[998].Decision);
        Assert.Equal(Decision.Denied, response.Results[999].Decision);
    }

    [Fact]
    public async Task BatchCheck_OverTheItemLimit_IsInvalidArgument()
    {
        var request = new BatchCheckRequest();
        for (var i = 0; i < 1001; i++)
        {
            request.Items.Add(Check("user:devon", "view", "project:storefront"));
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.BatchCheckAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("1000", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("items", error.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Single().Field);
    }

    [Fact]
    public async Task BatchCheck_MalformedItem_RejectsTheBatchNamingTheItem()
    {
        var request = new BatchCheckRequest();
        request.Items.Add(Check("user:devon", "view", "project:storefront"));
        request.Items.Add(Check("user:devon", "view", "project:storefront"));
        request.Items.Add(Check("user:devon", "view", "project:" + new string('x', Core.Model.Identifiers.MaxIdLength + 1)));

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.BatchCheckAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("items[2].resource.id", error.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Single().Field);
    }

    [Fact]
    public async Task BatchCheck_UnknownPermissionInAnItem_IsInvalidArgumentNamingTheItem()
    {
        var request = new BatchCheckRequest();
        request.Items.Add(Check("user:devon", "view", "project:storefront"));
        request.Items.Add(Check("user:devon", "teleport", "project:storefront"));

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.BatchCheckAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("items[1]: ", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("teleport", error.Status.Detail, StringComparison.Ordinal);
    }
}
