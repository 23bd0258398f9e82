using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// <c>authzctl check / explain / lookup-*</c> against one real server process on loopback, shared by the class: every
/// test only reads (a server per test cost the suite about three minutes).
/// </summary>
public sealed class ServerCommandTests(AdminServer admin) : IClassFixture<AdminServer>
{
    private readonly ServerProcess _server = admin.Process;

    private async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AuthzCtl.RunAsync([.. args, "--server", _server.Address.ToString(), "--token", _server.Key!], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Check_Allowed_ExitsZero_Denied_ExitsOne()
    {
        var allowed = await Run("check", "application:storefront-web", "deploy", "user:olivia");
        var denied = await Run("check", "application:storefront-web", "deploy", "user:alex");

        Assert.Equal((0, "ALLOWED at revision 1"), (allowed.Exit, allowed.Output.Trim()));
        Assert.Equal((1, "DENIED at revision 1"), (denied.Exit, denied.Output.Trim()));
    }

    [Fact]
    public async Task Check_WithACaveatContext_SendsIt_AndOneThatIsNotAJsonObject_ExitsTwo()
    {
        // The default model has no caveats: the context is accepted and changes nothing.
        var allowed = await Run("check", "application:storefront-web", "deploy", "user:olivia", "--caveat-context", """{"user_ip": "10.0.0.1"}""");
        var unfit = await Run("check", "application:storefront-web", "deploy", "user:olivia", "--caveat-context", "[1, 2]");
        var malformed = await Run("explain", "application:storefront-web", "deploy", "user:olivia", "--caveat-context", "{user_ip}");

        Assert.Equal((0, "ALLOWED at revision 1"), (allowed.Exit, allowed.Output.Trim()));
        Assert.Equal(2, unfit.Exit);
        Assert.Contains("--caveat-context: not a JSON object", unfit.Error, StringComparison.Ordinal);
        Assert.Equal(2, malformed.Exit);
        Assert.Contains("--caveat-context: not a JSON object", malformed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WithATargetRole_AsksAboutTheManagementCall()
    {
        // In the default model only owners grant owner: olivia owns northwind, alex holds nothing there.
        var allowed = await Run("check", "organization:northwind", "grant", "user:olivia", "--target-role", "owner", "--target-subject", "user:zoe");
        var denied = await Run("check", "organization:northwind", "grant", "user:alex", "--target-role", "owner", "--target-subject", "user:zoe");
        var leave = await Run("explain", "organization:northwind", "leave", "user:olivia", "--management");
        var malformed = await Run("check", "organization:northwind", "grant", "user:olivia", "--target-subject", "user:zoe");

        Assert.Equal((0, "ALLOWED at revision 1"), (allowed.Exit, allowed.Output.Trim()));
        Assert.Equal((1, "DENIED at revision 1"), (denied.Exit, denied.Output.Trim()));
        Assert.Equal(1, leave.Exit);
        Assert.Contains("minimum 1 owner", leave.Output, StringComparison.Ordinal);
        Assert.Equal(2, malformed.Exit);
        Assert.Contains("context.target_role: is required", malformed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_PrintsThePath()
    {
        var (exit, output, _) = await Run("explain", "application:storefront-web", "deploy", "user:olivia");

        Assert.Equal(0, exit);
        Assert.Contains("[+] organization:northwind#owner (direct)", output, StringComparison.Ordinal);
        Assert.EndsWith("ALLOWED at revision 1", output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LookupSubjects_OfASubjectSetType_ListsTheSets()
    {
        var (exit, output, _) = await Run("lookup-subjects", "organization:northwind", "developer", "group#member");

        Assert.Equal(0, exit);
        Assert.Equal(["group:platform#member", "group:sre#member"], output.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("no resources found", "lookup-resources", "project", "view", "user:mallory")]
    [InlineData("no subjects found", "lookup-subjects", "project:not-stored", "view", "user")]
    [InlineData("no subjects found", "lookup-subjects", "organization:northwind", "manage_account", "group#member")]
    [InlineData("no relationships found", "relationship", "read", "project:not-stored")]
    [InlineData("no API keys found", "apikey", "list", "--subject", "user:nobody")]
    public async Task ListsAndLookups_FindingNothing_SaySoInTables_AndStayEmptyInJson(string expected, params string[] command)
    {
        var table = await Run(command);
        var json = await Run([.. command, "--output", "json"]);

        Assert.Equal((0, expected), (table.Exit, table.Output.Trim()));
        Assert.Equal(0, json.Exit);
        // A stream prints no JSON line; a unary list prints its reply with an empty array.
        Assert.True(json.Output.Length == 0 || json.Output.Replace(" ", string.Empty, StringComparison.Ordinal).Contains("[]", StringComparison.Ordinal), json.Output);
    }

    [Fact]
    public async Task LookupResources_ListsOnePerLine()
    {
        var (exit, output, _) = await Run("lookup-resources", "project", "view", "user:olivia");

        Assert.Equal(0, exit);
        Assert.Equal(["project:payments", "project:storefront"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task LookupSubjects_ListsOnePerLine()
    {
        var (exit, output, _) = await Run("lookup-subjects", "organization:northwind", "manage_account", "user");

        Assert.Equal(0, exit);
        Assert.Equal(["user:olivia"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task LookupResources_WithLimit_PagesThroughTheListWithTheNextCursor()
    {
        var listed = new List<string>();
        var pages = 0;
        string[] lines;
        for (string? cursor = null; ; cursor = lines[^1]["next cursor: ".Length..])
        {
            Assert.True(++pages <= 3, "paging does not end");
            var (exit, output, error) = await Run(["lookup-resources", "project", "view", "user:olivia", "--limit", "1", .. cursor is null ? Array.Empty<string>() : ["--cursor", cursor]]);
            Assert.True(exit == 0, error);
            lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            listed.AddRange(lines.Where(l => !l.StartsWith("next cursor: ", StringComparison.Ordinal) && l != "no more resources found"));
            if (lines.Length == 0 || !lines[^1].StartsWith("next cursor: ", StringComparison.Ordinal))
            {
                break;
            }
        }

        // olivia views two projects: two full pages of one, each ending with its cursor, then an empty last page.
        Assert.Equal(["project:payments", "project:storefront"], listed);
        Assert.Equal(["no more resources found"], lines);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task LookupSubjects_WithLimitAndCursor_ResumesAfterTheCursor()
    {
        var first = await Run("lookup-subjects", "project:payments", "manage_members", "user", "--limit", "2");
        var cursor = first.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]["next cursor: ".Length..];
        var rest = await Run("lookup-subjects", "project:payments", "manage_members", "user", "--limit", "2", "--cursor", cursor);

        Assert.Equal(0, first.Exit);
        Assert.Equal(["user:aaron", "user:olivia", $"next cursor: {cursor}"], first.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(0, rest.Exit);
        Assert.Equal(["user:paul"], rest.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Lookup_BadPageOptions_ExitTwoWithAMessage()
    {
        var cursor = await Run("lookup-resources", "project", "view", "user:olivia", "--cursor", "not-a-cursor");
        var overCap = await Run("lookup-resources", "project", "view", "user:olivia", "--limit", "1001");
        var negative = await Run("lookup-subjects", "project:payments", "view", "user", "--limit", "-1");

        Assert.Equal((2, string.Empty), (cursor.Exit, cursor.Output));
        Assert.StartsWith("InvalidArgument: cursor: ", cursor.Error, StringComparison.Ordinal);
        Assert.Equal((2, string.Empty), (overCap.Exit, overCap.Output));
        Assert.StartsWith("InvalidArgument: limit: is 1001", overCap.Error, StringComparison.Ordinal);
        Assert.Equal(2, negative.Exit);
        Assert.Contains("'-1' for option '--limit'", negative.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("project", "view", "user:olivia", "'project' is not an object")]
    [InlineData("project:storefront", "view", "olivia", "'olivia' is not a subject")]
    [InlineData("projekt:storefront", "view", "user:olivia", "InvalidArgument")]
    public async Task Check_BadArguments_ExitTwoWithAMessage(string resource, string action, string subject, string message)
    {
        var (exit, _, error) = await Run("check", resource, action, subject);

        Assert.Equal(2, exit);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_NoServer_ExitsFiveSayingSo()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await AuthzCtl.RunAsync(["check", "project:storefront", "view", "user:olivia", "--server", $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}"], output, error);

        Assert.Equal(5, exit);
        Assert.Contains("cannot reach the server", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WithoutAKey_ExitsThreeSayingWhatToSend()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        // An empty --token sends no key, whatever the environment or the working folder hold.
        var exit = await AuthzCtl.RunAsync(["check", "project:storefront", "view", "user:olivia", "--server", _server.Address.ToString(), "--token", ""], output, error);

        Assert.Equal(3, exit);
        Assert.Contains("Unauthenticated", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("authorization: Bearer azk_", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("no API key was sent", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("--token", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WithAWrongKey_ExitsThree()
    {
        var (exit, _, error) = await RunWithToken("azk_nosuchkey_" + new string('x', 43), "check", "application:storefront-web", "deploy", "user:olivia");

        Assert.Equal(3, exit);
        Assert.Contains("Unauthenticated", error, StringComparison.Ordinal);
        Assert.Contains("the API key sent was refused", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultToken_TheServersKeyFile_WorksAsTheToken()
    {
        // The server process's working folder is laid out as scripts/run.sh's: .data/bootstrap.key under it.
        var token = AuthzCtl.DefaultToken(_server.WorkingFolder, _ => null);

        Assert.Equal(_server.Key, token);
        var (exit, output, _) = await RunWithToken(token!, "check", "application:storefront-web", "deploy", "user:olivia");
        Assert.Equal((0, "ALLOWED at revision 1"), (exit, output.Trim()));
    }

    [Fact]
    public async Task Check_WithoutTokenOption_SendsTheKeyOfTheWorkingFolder()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        // No --token: the key is looked up when the command runs (help never shows it), here in the key file.
        var exit = await AuthzCtl.RunAsync(
            ["check", "application:storefront-web", "deploy", "user:olivia", "--server", _server.Address.ToString()], output, error, _server.WorkingFolder, _ => null);

        Assert.Equal((0, "ALLOWED at revision 1", string.Empty), (exit, output.ToString().Trim(), error.ToString()));
    }

    [Fact]
    public void DefaultToken_EnvironmentFirst_ThenTheFile_ElseNone()
    {
        var empty = Directory.CreateTempSubdirectory("authzctl-").FullName;
        try
        {
            Assert.Equal("azk_fromenv_x", AuthzCtl.DefaultToken(_server.WorkingFolder, name => name == AuthzCtl.TokenVariable ? " azk_fromenv_x\n" : null));
            Assert.Equal(_server.Key, AuthzCtl.DefaultToken(_server.WorkingFolder, _ => "  "));
            Assert.Null(AuthzCtl.DefaultToken(empty, _ => null));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private async Task<(int Exit, string Output, string Error)> RunWithToken(string token, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AuthzCtl.RunAsync([.. args, "--server", _server.Address.ToString(), "--token", token], output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
