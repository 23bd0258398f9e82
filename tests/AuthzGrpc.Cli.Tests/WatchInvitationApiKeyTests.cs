using System.Globalization;
using System.Text.Json;

namespace AuthzGrpc.Cli.Tests;

/// <summary><c>authzctl watch</c>, <c>invitation ...</c> and <c>apikey ...</c> against a real server of their own.</summary>
public sealed class WatchInvitationApiKeyTests(AdminServer server) : IClassFixture<AdminServer>
{
    [Fact]
    public async Task Watch_PrintsTheChangesOfEachRevision_AndStopsAtMax()
    {
        var touch = await server.Run("relationship", "touch", "project:storefront#viewer@user:watch_a", "project:storefront#viewer@user:watch_b", "-o", "json");
        var revision = long.Parse(JsonDocument.Parse(touch.Output).RootElement.GetProperty("revision").GetString()!, CultureInfo.InvariantCulture);
        var before = (revision - 1).ToString(CultureInfo.InvariantCulture);

        var text = await server.Run("watch", "--after-revision", before, "--max", "1", "--timeout", "30");
        var json = await server.Run("watch", "--after-revision", before, "--max", "1", "--timeout", "30", "-o", "json");

        Assert.Equal(0, text.Exit);
        Assert.Equal(["+ project:storefront#viewer@user:watch_a", "+ project:storefront#viewer@user:watch_b", $"at revision {revision}"], text.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(0, json.Exit);
        using var change = JsonDocument.Parse(json.Output);
        Assert.Equal(revision.ToString(CultureInfo.InvariantCulture), change.RootElement.GetProperty("revision").GetString());
        Assert.Equal(["OPERATION_TOUCH", "OPERATION_TOUCH"], change.RootElement.GetProperty("updates").EnumerateArray().Select(u => u.GetProperty("operation").GetString()));
    }

    [Fact]
    public async Task Watch_WithNothingNew_EndsAtTheTimeout_WithExitZero()
    {
        var started = DateTime.UtcNow;

        var (exit, output, error) = await server.Run("watch", "--timeout", "1");

        Assert.Equal((0, string.Empty, string.Empty), (exit, output, error));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Invitation_ListResendRevokeAccept()
    {
        var olivia = await server.ManagementKey("olivia");
        var invite = await server.RunWithKey(olivia, "invite", "inv_kim@example.com", "inv_lee@example.com", "--on", "project:payments", "-r", "viewer", "-o", "json");
        Assert.True(invite.Exit == 0, invite.Error);
        using var issued = JsonDocument.Parse(invite.Output);
        var invitations = issued.RootElement.GetProperty("invitations").EnumerateArray().ToDictionary(i => i.GetProperty("email").GetString()!, i => (Id: i.GetProperty("id").GetString()!, Token: i.GetProperty("token").GetString()!));

        var list = await server.RunWithKey(olivia, "invitation", "list", "--on", "project:payments");
        Assert.Equal(0, list.Exit);
        Assert.Contains(list.Output.Split('\n'), l => l.StartsWith(invitations["inv_kim@example.com"].Id, StringComparison.Ordinal) && l.Contains(" pending ", StringComparison.Ordinal));

        var resend = await server.RunWithKey(olivia, "invitation", "resend", invitations["inv_kim@example.com"].Id, "-o", "json");
        Assert.Equal(0, resend.Exit);
        var newToken = JsonDocument.Parse(resend.Output).RootElement.GetProperty("invitation").GetProperty("token").GetString()!;
        Assert.NotEqual(invitations["inv_kim@example.com"].Token, newToken);
        Assert.Equal(4, (await server.Run("invitation", "accept", invitations["inv_kim@example.com"].Token, "--as", "inv_kim")).Exit);

        var accept = await server.Run("invitation", "accept", newToken, "--as", "inv_kim");
        Assert.True(accept.Exit == 0, accept.Error);
        Assert.Contains("+ project:payments#viewer@user:inv_kim", accept.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Run("check", "project:payments", "view", "user:inv_kim")).Exit);

        var revoke = await server.RunWithKey(olivia, "invitation", "revoke", invitations["inv_lee@example.com"].Id);
        Assert.Equal(0, revoke.Exit);
        Assert.StartsWith($"revoked invitation {invitations["inv_lee@example.com"].Id} (inv_lee@example.com)", revoke.Output, StringComparison.Ordinal);
        Assert.Equal(4, (await server.Run("invitation", "accept", invitations["inv_lee@example.com"].Token, "--as", "inv_lee")).Exit);
        var all = await server.Run("invitation", "list", "--on", "project:payments", "--all", "-o", "json");
        var states = JsonDocument.Parse(all.Output).RootElement.GetProperty("invitations").EnumerateArray()
            .ToDictionary(i => i.GetProperty("email").GetString()!, i => i.GetProperty("state").GetString());
        Assert.Equal("INVITATION_STATE_ACCEPTED", states["inv_kim@example.com"]);
        Assert.Equal("INVITATION_STATE_REVOKED", states["inv_lee@example.com"]);
    }

    [Fact]
    public async Task ApiKey_CreateListRevoke_TheRevokedKeyIsRefused()
    {
        var create = await server.Run("apikey", "create", "user:key_kai", "--kind", "check", "--description", "authzctl test", "-o", "json");
        Assert.True(create.Exit == 0, create.Error);
        using var created = JsonDocument.Parse(create.Output);
        var key = created.RootElement.GetProperty("key").GetString()!;
        var id = created.RootElement.GetProperty("apiKey").GetProperty("keyId").GetString()!;

        var list = await server.Run("apikey", "list", "--subject", "key_kai");
        Assert.Equal(0, list.Exit);
        Assert.Matches($"^{id} +user:key_kai +check ", list.Output.Split('\n')[1]);
        Assert.DoesNotContain(TestSecret(key), list.Output, StringComparison.Ordinal);

        using (var output = new StringWriter())
        {
            Assert.Equal(1, await AuthzCtl.RunAsync(["check", "project:payments", "view", "user:key_kai", "--server", server.Process.Address.ToString(), "--token", key], output, TextWriter.Null));
        }

        Assert.Equal(0, (await server.Run("apikey", "revoke", id)).Exit);
        using var error = new StringWriter();
        Assert.Equal(3, await AuthzCtl.RunAsync(["check", "project:payments", "view", "user:key_kai", "--server", server.Process.Address.ToString(), "--token", key], TextWriter.Null, error));
        Assert.Equal(2, (await server.Run("apikey", "create", "user:key_kai", "--kind", "superuser")).Exit);
    }

    private static string TestSecret(string key) => key[(key.IndexOf('_', 4) + 1)..];
}
