using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class ExplainTests(ServerFixture server) : ServerTest(server)
{
    [Theory]
    [MemberData(nameof(DefaultModelCases.Allowed), MemberType = typeof(DefaultModelCases))]
    [MemberData(nameof(DefaultModelCases.Denied), MemberType = typeof(DefaultModelCases))]
    public async Task Explain_AnyQuestion_DecidesLikeCheck(string subject, string action, string resource)
    {
        var check = await Client.CheckAsync(Check(subject, action, resource));

        var explain = await Client.ExplainAsync(Explain(subject, action, resource));

        Assert.Equal(check.Decision, explain.Decision);
        Assert.Equal(explain.Decision == Decision.Allowed, explain.Root.Result);
        Assert.Equal(check.Revision, explain.Revision);
    }

    [Fact]
    public async Task Explain_Allowed_HasAPathOfTrueStepsToAStoredRelationship()
    {
        // sara → group sre → group platform → organization developer → project contribute → deploy.
        var explain = await Client.ExplainAsync(Explain("user:sara", "deploy", "application:storefront-web"));

        Assert.Equal(Decision.Allowed, explain.Decision);
        Assert.Equal("application:storefront-web#deploy@user:sara", explain.Root.Step);
        var step = explain.Root;
        var depth = 0;
        while (step.Children.Count > 0)
        {
            step = step.Children.First(c => c.Result);
            depth++;
        }

        Assert.True(step.Result);
        Assert.NotEmpty(step.Reason);
        Assert.True(depth >= 3, $"expected the path to walk through the hierarchy, got {depth} steps");
    }

    [Fact]
    public async Task Explain_Denied_ExplainsEveryStepAsFalse()
    {
        var explain = await Client.ExplainAsync(Explain("user:mallory", "view", "project:storefront"));

        Assert.Equal(Decision.Denied, explain.Decision);
        Assert.False(explain.Root.Result);
        Assert.NotEmpty(explain.Root.Children);
    }
}
