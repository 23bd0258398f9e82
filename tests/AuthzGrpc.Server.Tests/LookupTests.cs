using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class LookupTests(ServerFixture server) : ServerTest(server)
{
    [Theory]
    [InlineData("user:devon", "view", "project", "project:storefront")]
    [InlineData("user:sara", "deploy", "project", "project:payments,project:storefront")]
    [InlineData("user:olivia", "project_admin", "project", "project:payments,project:storefront")]
    [InlineData("user:nina", "view", "project", "project:payments,project:storefront")]
    [InlineData("user:nina", "view_secrets", "project", "")]
    [InlineData("user:eric", "view", "environment", "environment:storefront-staging")]
    [InlineData("user:carl", "push_code", "environment", "environment:storefront-dev")]
    [InlineData("user:eric", "deploy", "application", "application:storefront-preview")]
    [InlineData("user:devon", "deploy", "application", "application:storefront-api,application:storefront-preview,application:storefront-web")]
    [InlineData("user:mallory", "view", "project", "")]
    public async Task LookupResources_DefaultData_StreamsTheResourcesInIdOrder(string subject, string action, string resourceType, string expected)
    {
        using var call = Client.LookupResources(new LookupResourcesRequest
        {
            Subject = Subject(subject),
            Action = action,
            ResourceType = resourceType,
        });

        var found = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal("1", response.Revision);
            found.Add(Text(response.Resource));
        }

        Assert.Equal(Split(expected), found);
    }

    [Theory]
    [InlineData("project:storefront", "manage_members", "user", "user:aaron,user:olivia,user:priya")]
    [InlineData("project:payments", "manage_members", "user", "user:aaron,user:olivia,user:paul")]
    [InlineData("application:payments-api", "deploy", "user", "user:aaron,user:alex,user:dan,user:olivia,user:paul,user:sara")]
    [InlineData("project:storefront", "write_documents", "user", "user:aaron,user:dan,user:devon,user:olivia,user:priya,user:sara,user:wendy")]
    [InlineData("organization:northwind", "manage_billing", "user", "user:bella,user:olivia")]
    [InlineData("project:not-stored", "view", "user", "")]
    public async Task LookupSubjects_DefaultData_StreamsTheSubjectsInIdOrder(string resource, string action, string subjectType, string expected)
    {
        using var call = Client.LookupSubjects(new LookupSubjectsRequest
        {
            Resource = Requests.Object(resource),
            Action = action,
            SubjectType = subjectType,
        });

        var found = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal("1", response.Revision);
            Assert.Empty(response.ExcludedSubjects);
            found.Add(Text(response.Subject));
        }

        Assert.Equal(Split(expected), found);
    }

    [Fact]
    public async Task LookupSubjects_EveryResult_IsAllowedByCheck()
    {
        using var call = Client.LookupSubjects(new LookupSubjectsRequest
        {
            Resource = Requests.Object("environment:storefront-prod"),
            Action = "ssh",
            SubjectType = "user",
        });

        var found = 0;
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            var check = await Client.CheckAsync(new CheckRequest { Subject = response.Subject, Action = "ssh", Resource = Requests.Object("environment:storefront-prod") });
            Assert.Equal(Decision.Allowed, check.Decision);
            found++;
        }

        Assert.True(found > 0);
    }

    // group:sre's members are members of group:platform, which holds developer on northwind: both sets reach it.
    [Theory]
    [InlineData("organization:northwind", "developer", "group:platform#member,group:sre#member")]
    [InlineData("organization:northwind", "any_role", "group:platform#member,group:sre#member")]
    [InlineData("organization:northwind", "manage_account", "")]
    [InlineData("group:platform", "member", "group:platform#member,group:sre#member")]
    public async Task LookupSubjects_WithASubjectRelation_ListsTheSubjectSetsCheckAllows(string resource, string action, string expected)
    {
        var request = new LookupSubjectsRequest { Resource = Requests.Object(resource), Action = action, SubjectType = "group", SubjectRelation = "member" };
        using var call = Client.LookupSubjects(request);

        var found = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            var check = await Client.CheckAsync(new CheckRequest { Subject = response.Subject, Action = action, Resource = request.Resource });
            Assert.Equal(Decision.Allowed, check.Decision);
            found.Add(Text(response.Subject));
        }

        Assert.Equal(Split(expected), found);
    }

    [Theory]
    [InlineData("owner", "subject relation 'owner' is not a relation or permission of 'group'")]
    [InlineData("Member!", "subject_relation: 'Member!' is not a valid permission or relation name")]
    public async Task LookupSubjects_ABadSubjectRelation_IsInvalidArgumentNamingIt(string relation, string message)
    {
        using var call = Client.LookupSubjects(new LookupSubjectsRequest
        {
            Resource = Requests.Object("organization:northwind"), Action = "developer", SubjectType = "group", SubjectRelation = relation,
        });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.ReadAllAsync().ToListAsync());
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(message, error.Status.Detail, StringComparison.Ordinal);
    }

    private static string[] Split(string list) => list.Length == 0 ? [] : list.Split(',');
}
