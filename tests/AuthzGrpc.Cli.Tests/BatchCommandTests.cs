using AuthzGrpc.V1;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// <c>authzctl</c>'s commands over several subjects at once and the object records, against a real server process on
/// loopback (the default model and its demo data; the class's own server, each test with users of its own):
/// <c>organization user delete</c> with several users (RemoveMembers), <c>invite address=role</c> (InviteMembers
/// invitees) and <c>resource get|list</c> (an environment's type and production mark).
/// </summary>
public sealed class BatchCommandTests(ManagementCommandTests.Server server) : IClassFixture<ManagementCommandTests.Server>
{
    [Fact]
    public async Task OrganizationUserDelete_SeveralUsers_RemovesThemAllInOneCall()
    {
        Assert.Equal(0, (await server.RunAs("olivia", "user", "add", "rita", "--on", "project:storefront", "-r", "viewer")).Exit);
        Assert.Equal(0, (await server.RunAs("olivia", "user", "add", "rob", "--on", "project:payments", "-r", "viewer")).Exit);

        var (exit, output, error) = await server.RunAs("olivia", "organization", "user", "delete", "rita,rob", "--org", "northwind");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Contains("- organization:northwind#member@user:rita", lines);
        Assert.Contains("- project:storefront#viewer@user:rita", lines);
        Assert.Contains("- organization:northwind#member@user:rob", lines);
        Assert.Contains("- project:payments#viewer@user:rob", lines);
        Assert.Single(lines, l => l.StartsWith("changed at revision ", StringComparison.Ordinal));
        Assert.Equal(1, (await server.RunAs("olivia", "check", "project:payments", "view", "user:rob")).Exit);
    }

    [Fact]
    public async Task OrganizationUserDelete_OneUserRefused_RemovesNone()
    {
        Assert.Equal(0, (await server.RunAs("olivia", "user", "add", "sam", "--on", "project:storefront", "-r", "viewer")).Exit);

        // wendy may remove nobody: the call is refused whole, and sam keeps his access.
        var (exit, _, error) = await server.RunAs("wendy", "organization", "user", "delete", "sam", "victor", "--org", "northwind");

        Assert.Equal(3, exit);
        Assert.StartsWith("PermissionDenied: ", error, StringComparison.Ordinal);
        Assert.Equal(0, (await server.RunAs("olivia", "check", "project:storefront", "view", "user:sam")).Exit);
    }

    [Fact]
    public async Task Invite_AnAddressWithItsOwnRoles_GetsThoseAlone()
    {
        var (exit, output, error) = await server.RunAs("olivia", "invite", "ivy@example.com=admin,development:contributor", "jay@example.com", "--on", "project:storefront", "-r", "viewer");

        Assert.True(exit == 0, error);
        Assert.Contains("ivy@example.com ", output, StringComparison.Ordinal);
        var invitations = (await new ManagementService.ManagementServiceClient(server.Admin).ListInvitationsAsync(new ListInvitationsRequest
        {
            Resource = new ObjectRef { Type = "project", Id = "storefront" },
        })).Invitations;
        var ivy = Assert.Single(invitations, i => i.Email == "ivy@example.com");
        Assert.Equal(["admin"], ivy.Roles);
        Assert.Equal("environment_type:storefront_development#contributor", $"{ivy.Grants[0].Resource.Type}:{ivy.Grants[0].Resource.Id}#{ivy.Grants[0].Roles[0]}");
        Assert.Equal(["viewer"], Assert.Single(invitations, i => i.Email == "jay@example.com").Roles);
    }

    [Fact]
    public async Task ResourceGetAndList_ShowAnEnvironmentsTypeAndProductionMark()
    {
        var (exit, output, error) = await server.RunAs("olivia", "resource", "get", "environment:storefront-prod");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Contains(lines, l => l.StartsWith("parent ", StringComparison.Ordinal) && l.EndsWith(" project:storefront", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("type ", StringComparison.Ordinal) && l.EndsWith(" environment_type:storefront_production", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("production_of ", StringComparison.Ordinal) && l.EndsWith(" project:storefront", StringComparison.Ordinal));

        var listed = await server.RunAs("olivia", "resource", "list", "project:storefront", "--type", "environment");
        Assert.True(listed.Exit == 0, listed.Error);
        Assert.Contains(Lines(listed.Output), l => l.StartsWith("environment:storefront-dev ", StringComparison.Ordinal) && l.EndsWith("type=environment_type:storefront_development", StringComparison.Ordinal));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
