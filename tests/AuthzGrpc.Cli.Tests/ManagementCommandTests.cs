using AuthzGrpc.Testing;
using AuthzGrpc.V1;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// <c>authzctl user / organization user / members / invite</c> against one real server process on loopback (the
/// default model and its demo data). The server is shared by the class to spare a start per test, so every test
/// changes only members no other test reads: each test has users of its own.
/// </summary>
public sealed class ManagementCommandTests(ManagementCommandTests.Server server) : IClassFixture<ManagementCommandTests.Server>
{
    [Fact]
    public async Task UserAdd_ProjectRoleAndShortEnvironmentTypeRoles_GrantsEach()
    {
        var (exit, output, error) = await server.RunAs("olivia", "user", "add", "zoe", "--on", "project:storefront", "-r", "viewer", "-r", "development:contributor", "-r", "staging:viewer");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Contains("+ project:storefront#viewer@user:zoe", lines);
        Assert.Contains("+ environment_type:storefront_development#contributor@user:zoe", lines);
        Assert.Contains("+ environment_type:storefront_staging#viewer@user:zoe", lines);
        Assert.StartsWith("changed at revision ", lines[^1], StringComparison.Ordinal);
        Assert.Equal(0, (await server.RunAs("olivia", "check", "environment:storefront-dev", "push_code", "user:zoe")).Exit);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "environment:storefront-staging", "ssh", "user:zoe")).Exit);
    }

    [Fact]
    public async Task UserAdd_FullyQualifiedRole_GrantsOnThatObject()
    {
        var (exit, output, error) = await server.RunAs("olivia", "user", "add", "user:yara", "--on", "project:payments", "-r", "environment_type:payments_staging#admin");

        Assert.True(exit == 0, error);
        Assert.Contains("+ environment_type:payments_staging#admin@user:yara", Lines(output));
        Assert.Equal(0, (await server.RunAs("olivia", "check", "environment:payments-staging", "change_settings", "user:yara")).Exit);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "environment:payments-prod", "view", "user:yara")).Exit);
    }

    [Fact]
    public async Task UserAdd_RoleAlreadyHeld_SaysNoChange()
    {
        var (exit, output, _) = await server.RunAs("olivia", "user", "add", "carl", "--on", "project:storefront", "-r", "development:contributor");

        Assert.Equal(0, exit);
        Assert.StartsWith("no change at revision ", output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserUpdate_LeavesExactlyTheNamedRoles_OnTheProjectAndItsEnvironmentTypes()
    {
        Assert.Equal(0, (await server.RunAs("olivia", "user", "add", "uma", "--on", "project:storefront", "-r", "admin,staging:viewer")).Exit);

        var (exit, output, error) = await server.RunAs("olivia", "user", "update", "uma", "--on", "project:storefront", "-r", "production:viewer,development:contributor");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Contains("- project:storefront#admin@user:uma", lines);
        Assert.Contains("- environment_type:storefront_staging#viewer@user:uma", lines);
        Assert.Contains("+ environment_type:storefront_production#viewer@user:uma", lines);
        Assert.Contains("+ environment_type:storefront_development#contributor@user:uma", lines);
        var summary = await server.RunAs("olivia", "organization", "user", "projects", "uma", "--organization", "northwind", "--type", "environment_type");
        Assert.Equal(
            ["environment_type:storefront_development contributor", "environment_type:storefront_production viewer"],
            Lines(summary.Output).Skip(1).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2))));
        Assert.Equal(1, (await server.RunAs("olivia", "check", "project:storefront", "change_settings", "user:uma")).Exit);
    }

    [Fact]
    public async Task UserUpdate_OnTheOrganization_LeavesTheProjectsEnvironmentTypeRoles()
    {
        Assert.Equal(0, (await server.RunAs("olivia", "user", "add", "hal", "--on", "project:storefront", "-r", "development:contributor")).Exit);

        var (exit, output, error) = await server.RunAs("olivia", "user", "update", "hal", "--on", "organization:northwind", "-r", "viewer");

        Assert.True(exit == 0, error);
        Assert.Equal(["+ organization:northwind#viewer@user:hal"], Lines(output).SkipLast(1));
        Assert.Equal(0, (await server.RunAs("olivia", "check", "environment:storefront-dev", "push_code", "user:hal")).Exit);
    }

    [Fact]
    public async Task UserDelete_PrintsTheCascade_AndKeepsTheOrganizationMembership()
    {
        Assert.Equal(0, (await server.RunAs("olivia", "user", "add", "dora", "--on", "project:storefront", "-r", "developer,production:admin")).Exit);

        var (exit, output, error) = await server.RunAs("olivia", "user", "delete", "dora", "--on", "project:storefront");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Contains("- project:storefront#developer@user:dora", lines);
        Assert.Contains("- environment_type:storefront_production#admin@user:dora", lines);
        Assert.Contains("- project:storefront#participant@user:dora", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("- organization:", StringComparison.Ordinal));
        Assert.Equal(1, (await server.RunAs("olivia", "check", "project:storefront", "view", "user:dora")).Exit);
        Assert.Equal(0, (await server.RunAs("olivia", "check", "organization:northwind", "member", "user:dora")).Exit);
    }

    [Fact]
    public async Task UserUpdate_TheLastOwnerDowngraded_IsFailedPrecondition_NamingTheRule()
    {
        var (exit, output, error) = await server.RunAs("olivia", "user", "update", "olivia", "--on", "organization:northwind", "-r", "admin");

        Assert.Equal((4, string.Empty), (exit, output));
        Assert.StartsWith("FailedPrecondition: minimum 1 owner", error, StringComparison.Ordinal);
        Assert.Single(Lines(error));
        Assert.Equal(0, (await server.RunAs("olivia", "check", "organization:northwind", "owner", "user:olivia")).Exit);
    }

    [Fact]
    public async Task UserAdd_WithoutTheAuthority_IsPermissionDenied_AndChangesNothing()
    {
        var (exit, output, error) = await server.RunAs("wendy", "user", "add", "zed", "--on", "project:storefront", "-r", "viewer");

        Assert.Equal((3, string.Empty), (exit, output));
        Assert.StartsWith("PermissionDenied: granting viewer on project:storefront needs manage_members", error, StringComparison.Ordinal);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "project:storefront", "view", "user:zed")).Exit);
    }

    [Fact]
    public async Task UserAdd_OneRoleRefused_GrantsNoneOfTheOthers()
    {
        // Olivia may grant the project and environment-type roles, but not a flag to herself (except self): the one
        // call is refused whole.
        var (exit, output, error) = await server.RunAs("olivia", "user", "add", "olivia", "--on", "project:payments",
            "-r", "viewer", "-r", "staging:contributor", "-r", "organization:northwind#flag_billing");

        Assert.Equal((3, string.Empty), (exit, output));
        Assert.StartsWith("PermissionDenied: user:olivia cannot change its own flag_billing", error, StringComparison.Ordinal);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "project:payments", "viewer", "user:olivia")).Exit);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "environment_type:payments_staging", "contributor", "user:olivia")).Exit);
    }

    [Fact]
    public async Task UserUpdate_OneObjectRefused_ChangesNoneOfTheOthers()
    {
        var (exit, output, error) = await server.RunAs("olivia", "user", "update", "ivy", "--on", "project:payments", "-r", "viewer", "-r", "staging:nosuchrole");

        Assert.Equal((2, string.Empty), (exit, output));
        Assert.StartsWith("InvalidArgument: 'nosuchrole' is not a relation of 'environment_type'", error, StringComparison.Ordinal);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "project:payments", "viewer", "user:ivy")).Exit);
    }

    [Theory]
    [InlineData(new[] { "user", "add", "zed", "-r", "viewer" }, "--on")]
    [InlineData(new[] { "user", "add", "zed", "--on", "project:storefront" }, "--role")]
    [InlineData(new[] { "user", "add", "zed", "--on", "project:storefront", "-r", "" }, "name at least one role with -r")]
    [InlineData(new[] { "user", "add", "zed", "--on", "project:storefront", "-r", "development:Contributor" }, "'Contributor' is not a role name")]
    [InlineData(new[] { "user", "add", "zed", "--on", "storefront", "-r", "viewer" }, "'storefront' is not an object")]
    [InlineData(new[] { "user", "add", "zed", "--on", "project:storefront", "-r", "qa:viewer" },
        "'qa' names no environment_type of project:storefront through its relation 'environment_type' (it has storefront_development, storefront_production, storefront_staging)")]
    [InlineData(new[] { "user", "add", "zed", "--on", "project:storefront", "-r", "s:viewer", "--related", "environment_type" }, "'s' names no environment_type")]
    [InlineData(new[] { "user", "add", "zed", "--on", "project:storefront", "-r", "dev:viewer", "--related", "Env" }, "--related 'Env': expected 'relation' or 'relation:type'")]
    [InlineData(new[] { "organization", "user", "update", "zed", "--organization", "northwind" }, "--permission")]
    [InlineData(new[] { "organization", "user", "add", "zed", "--organization", "northwind", "--permission", "Billing" }, "--permission 'Billing' is not a permission name")]
    [InlineData(new[] { "organization", "user", "add", "zed", "--organization", "northwind", "--permission", "nosuch" }, "InvalidArgument: ")]
    [InlineData(new[] { "invite", "zed@example.com", "--on", "project:storefront", "-r", "qa:viewer" }, "'qa' names no environment_type of project:storefront")]
    public async Task BadArguments_ExitTwoWithAMessage_AndChangeNothing(string[] args, string message)
    {
        var (exit, output, error) = await server.RunAs("olivia", args);

        Assert.Equal(2, exit);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("+ ", output, StringComparison.Ordinal);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "organization:northwind", "member", "user:zed")).Exit);
    }

    [Fact]
    public async Task OrganizationUserAdd_MapsPermissionsToFlags()
    {
        var (exit, output, error) = await server.RunAs("olivia", "organization", "user", "add", "fay", "--org", "northwind", "--permission", "billing,projects:create");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Contains("+ organization:northwind#member@user:fay", lines);
        Assert.Contains("+ organization:northwind#flag_billing@user:fay", lines);
        Assert.Contains("+ organization:northwind#flag_projects_create@user:fay", lines);
        Assert.Equal(0, (await server.RunAs("olivia", "check", "organization:northwind", "create_projects", "user:fay")).Exit);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "organization:northwind", "list_projects", "user:fay")).Exit);
    }

    [Fact]
    public async Task OrganizationUserUpdate_SetsExactlyThePermissions_AndKeepsTheOtherRoles()
    {
        var update = await server.RunAs("olivia", "organization", "user", "update", "victor", "--organization", "organization:northwind", "--permission", "billing", "--permission", "projects:list");
        var clear = await server.RunAs("olivia", "organization", "user", "update", "victor", "--organization", "northwind", "--permission", "projects:list");

        Assert.True(update.Exit == 0, update.Error);
        Assert.Equal(["+ organization:northwind#flag_billing@user:victor", "+ organization:northwind#flag_projects_list@user:victor"], Lines(update.Output).SkipLast(1));
        Assert.True(clear.Exit == 0, clear.Error);
        Assert.Equal(["- organization:northwind#flag_billing@user:victor"], Lines(clear.Output).SkipLast(1));
        Assert.Equal(0, (await server.RunAs("olivia", "check", "organization:northwind", "viewer", "user:victor")).Exit);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "organization:northwind", "manage_billing", "user:victor")).Exit);
    }

    [Fact]
    public async Task OrganizationUserUpdate_OwnPermissions_IsPermissionDenied()
    {
        var (exit, output, error) = await server.RunAs("olivia", "organization", "user", "update", "olivia", "--organization", "northwind", "--permission", "billing");

        Assert.Equal((3, string.Empty), (exit, output));
        Assert.True(error.StartsWith("PermissionDenied: user:olivia cannot change its own flag_billing", StringComparison.Ordinal), error);
    }

    [Fact]
    public async Task OrganizationUserDelete_RemovesTheUserFromEveryProject()
    {
        var (exit, output, error) = await server.RunAs("olivia", "organization", "user", "delete", "alex", "--organization", "northwind");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Contains("- application:payments-api#developer@user:alex", lines);
        Assert.Contains("- organization:northwind#member@user:alex", lines);
        Assert.Equal(1, (await server.RunAs("olivia", "check", "application:payments-api", "deploy", "user:alex")).Exit);
    }

    [Fact]
    public async Task OrganizationUserProjects_IsATableOfRolesAndPermissions()
    {
        var (exit, output, error) = await server.RunAs("olivia", "organization", "user", "projects", "carl", "--organization", "northwind", "--type", "project");
        var all = await server.RunAs("olivia", "organization", "user", "projects", "carl", "--organization", "northwind");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Equal(2, lines.Length);
        Assert.Matches("^OBJECT +ROLES +PERMISSIONS$", lines[0]);
        Assert.Matches("^project:storefront +- +access, list, read_documents, read_releases$", lines[1]);
        Assert.Contains(Lines(all.Output), l => l.StartsWith("environment_type:storefront_development  contributor  ", StringComparison.Ordinal));
        Assert.Contains(Lines(all.Output), l => l.StartsWith("organization:northwind ", StringComparison.Ordinal) && l.Contains(" member ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OrganizationUserProjects_ForSomeoneWithoutTheRight_IsPermissionDenied()
    {
        var (exit, _, error) = await server.RunAs("wendy", "organization", "user", "projects", "carl", "--organization", "northwind");

        Assert.Equal(3, exit);
        Assert.StartsWith("PermissionDenied: user:wendy may not read user:carl's access summary", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Members_ListsEachRoleWithWhereItComesFrom()
    {
        var (exit, output, error) = await server.RunAs("olivia", "members", "project:payments");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Matches("^MEMBER +ROLES$", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("user:paul ", StringComparison.Ordinal) && l.Contains("  admin", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("user:olivia ", StringComparison.Ordinal) && l.Contains("owner (from organization:northwind)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("user:dan ", StringComparison.Ordinal) && l.Contains("developer (from organization:northwind, via group:platform#member)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Members_Contained_ListsRolesInsideTheObject_WithTheObjectTheyAreOn()
    {
        var (exit, output, error) = await server.RunAs("olivia", "members", "organization:northwind", "--contained");

        Assert.True(exit == 0, error);
        Assert.Contains(Lines(output), l => l.StartsWith("user:paul ", StringComparison.Ordinal) && l.Contains("admin (on project:payments)", StringComparison.Ordinal));
        var (_, plain, _) = await server.RunAs("olivia", "members", "organization:northwind");
        Assert.DoesNotContain("(on project:payments)", plain, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invite_PrintsOneInvitationPerAddress_WithItsToken()
    {
        var (exit, output, error) = await server.RunAs("olivia", "invite", "kim@example.com,lee@example.com", "--on", "project:payments", "-r", "viewer", "--expires-in-hours", "24");

        Assert.True(exit == 0, error);
        var lines = Lines(output);
        Assert.Matches("^EMAIL +INVITATION +EXPIRES +TOKEN$", lines[0]);
        Assert.StartsWith("kim@example.com ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("lee@example.com ", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("invited at revision ", lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invite_WithEnvironmentTypeRoles_CarriesThemAsGrantsOfOneInvitation()
    {
        var (exit, output, error) = await server.RunAs("olivia", "invite", "mia@example.com", "--on", "project:storefront", "-r", "viewer", "-r", "development:contributor,staging:viewer");

        Assert.True(exit == 0, error);
        var invitations = await new ManagementService.ManagementServiceClient(server.Admin).ListInvitationsAsync(new ListInvitationsRequest
        {
            Resource = new ObjectRef { Type = "project", Id = "storefront" },
        });
        var invitation = Assert.Single(invitations.Invitations, i => i.Email == "mia@example.com");
        Assert.Equal(["viewer"], invitation.Roles);
        Assert.Equal(
            ["environment_type:storefront_development#contributor", "environment_type:storefront_staging#viewer"],
            invitation.Grants.Select(g => $"{g.Resource.Type}:{g.Resource.Id}#{string.Join(",", g.Roles)}").Order(StringComparer.Ordinal));
        Assert.Contains("mia@example.com ", output, StringComparison.Ordinal);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The server for the class, and a management key for each user the tests act as.</summary>
    public sealed class Server : IAsyncLifetime
    {
        private readonly Dictionary<string, string> _keys = [];
        private ServerProcess _process = null!;

        /// <inheritdoc/>
        public async Task InitializeAsync()
        {
            _process = await ServerProcess.StartAsync();
            var keys = new ApiKeyService.ApiKeyServiceClient(_process.Channel);

            // olivia owns the organization; wendy is a plain project member with no authority over others.
            foreach (var user in (string[])["olivia", "wendy"])
            {
                var subject = new SubjectRef { Object = new ObjectRef { Type = "user", Id = user } };
                _keys[user] = (await keys.CreateApiKeyAsync(new CreateApiKeyRequest { Subject = subject, Kind = KeyKind.Management, Description = "authzctl tests" })).Key;
            }
        }

        /// <summary>A channel with the server's admin key.</summary>
        public Grpc.Net.Client.GrpcChannel Admin => _process.Channel;

        /// <inheritdoc/>
        public async Task DisposeAsync() => await _process.DisposeAsync();

        /// <summary>Runs <c>authzctl</c> with a management key acting as <c>user:<paramref name="user"/></c>.</summary>
        public async Task<(int Exit, string Output, string Error)> RunAs(string user, params string[] args)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exit = await AuthzCtl.RunAsync([.. args, "--server", _process.Address.ToString(), "--token", _keys[user]], output, error);
            return (exit, output.ToString(), error.ToString());
        }
    }
}
