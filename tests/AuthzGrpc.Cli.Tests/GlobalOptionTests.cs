using System.Text.Json;

namespace AuthzGrpc.Cli.Tests;

/// <summary>The options every command takes (--output, TLS, --consistency) and the exit codes, against one real server.</summary>
public sealed class GlobalOptionTests(AdminServer server) : IClassFixture<AdminServer>
{
    [Fact]
    public async Task Help_OfTheRoot_EndsWithTheExitCodes()
    {
        using var output = new StringWriter();

        var exit = await AuthzCtl.RunAsync(["--help"], output, TextWriter.Null);

        Assert.Equal(0, exit);
        Assert.Contains("Exit codes:", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("1  no: check denied", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-such-command")]
    [InlineData("check", "application:storefront-web", "deploy")]
    [InlineData("check", "application:storefront-web", "deploy", "user:olivia", "--no-such-option")]
    [InlineData("check", "application:storefront-web", "deploy", "user:olivia", "--output", "yaml")]
    [InlineData("check", "application:storefront-web", "deploy", "user:olivia", "--consistency", "at_exact:1")]
    [InlineData("check", "application:storefront-web", "deploy", "user:olivia", "--consistency", "soon")]
    [InlineData("check", "application:storefront-web", "deploy", "user:olivia", "--tls", "--insecure")]
    public async Task UsageErrors_ExitTwo(params string[] args)
    {
        var (exit, output, error) = await server.Run(args);

        Assert.Equal(2, exit);
        Assert.DoesNotContain("ALLOWED", output, StringComparison.Ordinal);
        Assert.NotEmpty(error);
    }

    [Fact]
    public async Task Check_InJson_IsTheReply_AndTheExitCodeIsTheDecision()
    {
        var allowed = await server.Run("check", "application:storefront-web", "deploy", "user:olivia", "--output", "json");
        var denied = await server.Run("check", "application:storefront-web", "deploy", "user:alex", "-o", "json", "--consistency", "full");

        Assert.Equal(0, allowed.Exit);
        using (var json = JsonDocument.Parse(allowed.Output))
        {
            Assert.Equal("DECISION_ALLOWED", json.RootElement.GetProperty("decision").GetString());
            Assert.Equal("1", json.RootElement.GetProperty("revision").GetString());
        }

        Assert.Equal(1, denied.Exit);
        using (var json = JsonDocument.Parse(denied.Output))
        {
            Assert.Equal("DECISION_DENIED", json.RootElement.GetProperty("decision").GetString());
        }
    }

    [Fact]
    public async Task Explain_InJson_HasTheTree()
    {
        var (exit, output, _) = await server.Run("explain", "application:storefront-web", "deploy", "user:olivia", "-o", "json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("DECISION_ALLOWED", json.RootElement.GetProperty("decision").GetString());
        Assert.True(json.RootElement.GetProperty("root").GetProperty("result").GetBoolean());
    }

    [Fact]
    public async Task Lookup_InJson_IsOneDocumentPerLine()
    {
        var (exit, output, _) = await server.Run("lookup-resources", "project", "view", "user:olivia", "-o", "json", "--limit", "1");

        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var json = JsonDocument.Parse(Assert.Single(lines));
        Assert.Equal("project:payments", $"{json.RootElement.GetProperty("resource").GetProperty("type").GetString()}:{json.RootElement.GetProperty("resource").GetProperty("id").GetString()}");
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("afterResultCursor").GetString()));
    }

    [Fact]
    public async Task Consistency_AtLeastARevisionNotYetCommitted_ExitsFour()
    {
        var fresh = await server.Run("check", "application:storefront-web", "deploy", "user:olivia", "--consistency", "at_least:1");
        var future = await server.Run("check", "application:storefront-web", "deploy", "user:olivia", "--consistency", "at_least:999999");

        Assert.Equal(0, fresh.Exit);
        Assert.Equal(4, future.Exit);
        Assert.StartsWith("FailedPrecondition: ", future.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Members_InJson_IsTheListMembersReply()
    {
        var (exit, output, _) = await server.Run("members", "project:payments", "-o", "json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Contains(json.RootElement.GetProperty("members").EnumerateArray(), m => m.GetProperty("subject").GetProperty("object").GetProperty("id").GetString() == "olivia");
    }

    [Fact]
    public async Task Tls_AgainstAPlaintextServer_FailsWithoutSendingInClear()
    {
        var (exit, output, _) = await server.Run("check", "application:storefront-web", "deploy", "user:olivia", "--tls");

        Assert.NotEqual(0, exit);
        Assert.NotEqual(1, exit);
        Assert.Empty(output);
    }

    [Theory]
    [InlineData("http://127.0.0.1:50051", false, false, "http://127.0.0.1:50051/")]
    [InlineData("127.0.0.1:50051", false, false, "http://127.0.0.1:50051/")]
    [InlineData("127.0.0.1:50051", true, false, "https://127.0.0.1:50051/")]
    [InlineData("http://authz.example:443", true, false, "https://authz.example/")]
    [InlineData("https://authz.example:8443", false, true, "http://authz.example:8443/")]
    [InlineData("https://authz.example", false, false, "https://authz.example/")]
    public void Address_TheSchemeFollowsTlsAndInsecure(string server, bool tls, bool insecure, string expected) =>
        Assert.Equal(expected, AuthzCtl.Address(server, tls, insecure).ToString());
}
