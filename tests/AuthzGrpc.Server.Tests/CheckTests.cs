using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class CheckTests(ServerFixture server) : ServerTest(server)
{
    [Theory]
    [MemberData(nameof(DefaultModelCases.Allowed), MemberType = typeof(DefaultModelCases))]
    public async Task Check_GrantedByDefaultData_IsAllowed(string subject, string action, string resource)
    {
        var response = await Client.CheckAsync(Check(subject, action, resource));

        Assert.Equal(Decision.Allowed, response.Decision);
    }

    [Theory]
    [MemberData(nameof(DefaultModelCases.Denied), MemberType = typeof(DefaultModelCases))]
    public async Task Check_NotGrantedByDefaultData_IsDenied(string subject, string action, string resource)
    {
        var response = await Client.CheckAsync(Check(subject, action, resource));

        Assert.Equal(Decision.Denied, response.Decision);
    }

    [Fact]
    public async Task Check_AfterLoadingTheDemoData_ReportsRevisionOne()
    {
        // The relationships file is loaded as one write batch.
        var response = await Client.CheckAsync(Check("user:olivia", "view", "project:storefront"));

        Assert.Equal("1", response.Revision);
    }

    [Fact]
    public async Task Check_WithEachConsistency_GivesTheSameAnswer()
    {
        Consistency[] requirements =
        [
            new() { MinimizeLatency = true },
            new() { FullyConsistent = true },
            new() { AtLeast = "1" },
        ];

        foreach (var consistency in requirements)
        {
            var request = Check("user:devon", "deploy", "environment:storefront-prod");
            request.Consistency = consistency;

            var response = await Client.CheckAsync(request);

            Assert.Equal(Decision.Allowed, response.Decision);
            Assert.Equal("1", response.Revision);
        }
    }
}
