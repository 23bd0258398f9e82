using System.Diagnostics;
using System.Text.Json;
using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// A whole day of an operator's, with <c>authzctl</c> run as a process (as a script runs it) against real servers on
/// loopback: write the schema and import the relationships into an empty server; check (allowed and denied), explain;
/// invite, list the invitations, accept, list the members; grant and revoke; export; then restore the export into a
/// fresh server and get the same answers there. The day runs in the JSON output mode a script reads; the table mode of
/// each command is held by the command's own tests (a second whole day cost the suite a minute of its time budget).
/// </summary>
public sealed class WholeDayTests : IDisposable
{
    private static readonly string Models = Path.Combine(AppContext.BaseDirectory, "models");

    // Every question asked of both servers: (resource, action, subject).
    private static readonly (string Resource, string Action, string Subject)[] Questions =
    [
        ("application:storefront-web", "deploy", "user:olivia"),
        ("application:storefront-web", "deploy", "user:alex"),
        ("project:payments", "view", "user:quinn"),
        ("project:payments", "developer", "user:quinn"),
        ("project:payments", "viewer", "user:quinn"),
        ("organization:northwind", "manage_account", "user:olivia"),
    ];

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-day-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Theory]
    [InlineData("json")]
    public async Task AWholeDay_ThenARestoreIntoAFreshServer_GivesTheSameAnswers(string format)
    {
        var json = format == "json";
        await using var first = await ServerProcess.StartAsync("--Authz:RelationshipsFile=");

        // Morning: the schema and the relationships, into a server that has none.
        var schema = await Run(first, first.Key!, format, "schema", "write", Path.Combine(Models, "default.zed"));
        Assert.True(schema.Exit == 0, schema.Error);
        var imported = await Run(first, first.Key!, format, "relationship", "import", Path.Combine(Models, "default.relationships"));
        Assert.True(imported.Exit == 0, imported.Error);
        var relationships = File.ReadLines(Path.Combine(Models, "default.relationships")).Count(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith("//", StringComparison.Ordinal));
        Assert.Equal(relationships, json ? Json(imported).GetProperty("imported").GetInt64() : long.Parse(imported.Output.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));

        // Checks: the exit code is the decision, and the output says it.
        Assert.Equal((0, "DECISION_ALLOWED"), await Decision(first, format, "application:storefront-web", "deploy", "user:olivia"));
        Assert.Equal((1, "DECISION_DENIED"), await Decision(first, format, "application:storefront-web", "deploy", "user:alex"));
        var explain = await Run(first, first.Key!, format, "explain", "application:storefront-web", "deploy", "user:olivia");
        Assert.Equal(0, explain.Exit);
        if (json)
        {
            Assert.Equal("DECISION_ALLOWED", Json(explain).GetProperty("decision").GetString());
            Assert.True(Json(explain).GetProperty("root").GetProperty("result").GetBoolean());
        }
        else
        {
            Assert.Contains("[+] organization:northwind#owner (direct)", explain.Output, StringComparison.Ordinal);
        }

        // Keys: olivia manages; quinn's key carries the address she is invited at.
        var olivia = await CreateKey(first, format, "user:olivia", null);
        var quinn = await CreateKey(first, format, "user:quinn", "quinn@example.com");

        // Invite, list, accept, members.
        var invite = await Run(first, olivia, format, "invite", "quinn@example.com", "--on", "project:payments", "-r", "viewer");
        Assert.True(invite.Exit == 0, invite.Error);
        var (invitation, token) = json
            ? (Json(invite).GetProperty("invitations")[0].GetProperty("id").GetString()!, Json(invite).GetProperty("invitations")[0].GetProperty("token").GetString()!)
            : (Cells(invite.Output, 1)[1], Cells(invite.Output, 1)[3]);
        var pending = await Run(first, olivia, format, "invitation", "list", "--on", "project:payments");
        Assert.Equal(0, pending.Exit);
        if (json)
        {
            var listed = Json(pending).GetProperty("invitations").EnumerateArray().Single(i => i.GetProperty("id").GetString() == invitation);
            Assert.Equal(("quinn@example.com", "INVITATION_STATE_PENDING"), (listed.GetProperty("email").GetString(), listed.GetProperty("state").GetString()));
        }
        else
        {
            Assert.Equal([invitation, "quinn@example.com", "pending", "viewer"], Cells(pending.Output, 1)[..4]);
        }

        Assert.Equal((1, "DECISION_DENIED"), await Decision(first, format, "project:payments", "view", "user:quinn"));
        var accept = await Run(first, quinn, format, "invitation", "accept", token);
        Assert.True(accept.Exit == 0, accept.Error);
        if (json)
        {
            Assert.Equal("INVITATION_STATE_ACCEPTED", Json(accept).GetProperty("invitation").GetProperty("state").GetString());
            Assert.Contains(Json(accept).GetProperty("changes").GetProperty("added").EnumerateArray(), r => Relationship(r) == "project:payments#viewer@user:quinn");
        }
        else
        {
            Assert.Contains("+ project:payments#viewer@user:quinn", Lines(accept.Output));
        }

        Assert.Equal(4, (await Run(first, quinn, format, "invitation", "accept", token)).Exit);
        Assert.Equal((0, "DECISION_ALLOWED"), await Decision(first, format, "project:payments", "view", "user:quinn"));
        var members = await Run(first, olivia, format, "members", "project:payments");
        Assert.Equal(0, members.Exit);
        if (json)
        {
            Assert.Contains(Json(members).GetProperty("members").EnumerateArray(), m => m.GetProperty("subject").GetProperty("object").GetProperty("id").GetString() == "quinn");
        }
        else
        {
            Assert.Contains(Lines(members.Output), l => l.StartsWith("user:quinn ", StringComparison.Ordinal) && l.Contains("viewer", StringComparison.Ordinal));
        }

        // Grant, then revoke: the member's roles on the project become exactly viewer again.
        var grant = await Run(first, olivia, format, "user", "add", "quinn", "--on", "project:payments", "-r", "developer");
        Assert.True(grant.Exit == 0, grant.Error);
        Assert.Contains("project:payments#developer@user:quinn", Added(grant, json));
        Assert.Equal((0, "DECISION_ALLOWED"), await Decision(first, format, "project:payments", "developer", "user:quinn"));
        var revoke = await Run(first, olivia, format, "user", "update", "quinn", "--on", "project:payments", "-r", "viewer");
        Assert.True(revoke.Exit == 0, revoke.Error);
        Assert.Contains("project:payments#developer@user:quinn", Removed(revoke, json));
        Assert.Equal((1, "DECISION_DENIED"), await Decision(first, format, "project:payments", "developer", "user:quinn"));
        var refused = await Run(first, quinn, format, "user", "add", "quinn", "--on", "project:payments", "-r", "owner");
        Assert.Equal(3, refused.Exit);

        // Evening: the export, restored into a fresh server.
        var exportFile = Path.Combine(_folder.FullName, $"day.{format}");
        var export = await Run(first, first.Key!, format, "relationship", "export", exportFile);
        Assert.True(export.Exit == 0, export.Error);
        var exported = await File.ReadAllLinesAsync(exportFile);
        Assert.Contains(exported, l => (json ? Relationship(JsonDocument.Parse(l).RootElement) : l) == "project:payments#viewer@user:quinn");

        await using var second = await ServerProcess.StartAsync("--Authz:RelationshipsFile=");
        Assert.Equal(0, (await Run(second, second.Key!, format, "schema", "write", Path.Combine(Models, "default.zed"))).Exit);
        var restored = await Run(second, second.Key!, format, "relationship", "import", exportFile);
        Assert.True(restored.Exit == 0, restored.Error);
        foreach (var (resource, action, subject) in Questions)
        {
            Assert.Equal(await Decision(first, format, resource, action, subject), await Decision(second, format, resource, action, subject));
        }

        var exportAgain = await Run(second, second.Key!, format, "relationship", "export");
        Assert.Equal(exported.Order(StringComparer.Ordinal), Lines(exportAgain.Output).Order(StringComparer.Ordinal));

        // Night: a whole backup, restored into a new server: the same answers, and olivia's key and quinn's accepted
        // invitation came along. The restored server is no longer new: a second restore is refused (state, 4).
        var backupFile = Path.Combine(_folder.FullName, $"day.{format}.backup");
        var backup = await Run(first, first.Key!, format, "backup", "create", backupFile);
        Assert.True(backup.Exit == 0, backup.Error);
        Assert.Equal(exported.Length, json ? Json(backup).GetProperty("rows").GetProperty("relationship").GetInt64() : Count(backup.Output, "relationship"));
        await using var third = await ServerProcess.StartAsync("--Authz:RelationshipsFile=");
        var restore = await Run(third, third.Key!, format, "backup", "restore", backupFile);
        Assert.True(restore.Exit == 0, restore.Error);
        Assert.Equal(exported.Length, json ? long.Parse(Json(restore).GetProperty("restored").GetProperty("relationship").GetRawText(), System.Globalization.CultureInfo.InvariantCulture) : Count(restore.Output, "relationship"));
        foreach (var (resource, action, subject) in Questions)
        {
            Assert.Equal(await Decision(first, format, resource, action, subject), await Decision(third, format, resource, action, subject));
        }

        var invitations = await Run(third, olivia, format, "invitation", "list", "--on", "project:payments", "--all");
        Assert.True(invitations.Exit == 0, invitations.Error);
        Assert.Contains(invitation, invitations.Output, StringComparison.Ordinal);
        Assert.Equal(4, (await Run(third, third.Key!, format, "backup", "restore", backupFile)).Exit);
    }

    // A check's exit code and decision, read from the output of the mode.
    private static async Task<(int Exit, string Decision)> Decision(ServerProcess server, string format, string resource, string action, string subject)
    {
        var check = await Run(server, server.Key!, format, "check", resource, action, subject, "--consistency", "full");
        Assert.True(check.Exit is 0 or 1, check.Error);
        var decision = format == "json" ? Json(check).GetProperty("decision").GetString()! : "DECISION_" + check.Output.Split(' ')[0];
        return (check.Exit, decision);
    }

    private static async Task<string> CreateKey(ServerProcess server, string format, string subject, string? email)
    {
        var create = await Run(server, server.Key!, format, ["apikey", "create", subject, "--kind", "management", .. email is null ? Array.Empty<string>() : ["--email", email]]);
        Assert.True(create.Exit == 0, create.Error);
        return format == "json" ? Json(create).GetProperty("key").GetString()! : Lines(create.Output).Single(l => l.StartsWith("key: ", StringComparison.Ordinal))["key: ".Length..];
    }

    // The count before " <kind>" in a summary line such as "restored at revision 2: 40 relationship, 9 audit_event".
    private static long Count(string output, string kind) =>
        long.Parse(output.Split([':', ','], StringSplitOptions.TrimEntries).Single(p => p.EndsWith(" " + kind, StringComparison.Ordinal)).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static IEnumerable<string> Added((int, string Output, string) run, bool json) => Changes(run, json, "added", "+ ");

    private static IEnumerable<string> Removed((int, string Output, string) run, bool json) => Changes(run, json, "removed", "- ");

    private static IEnumerable<string> Changes((int, string Output, string) run, bool json, string field, string prefix) => json
        ? [.. JsonDocument.Parse(run.Output).RootElement.GetProperty(field).EnumerateArray().Select(Relationship)]
        : Lines(run.Output).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..]);

    private static string Relationship(JsonElement r) =>
        $"{r.GetProperty("resource").GetProperty("type").GetString()}:{r.GetProperty("resource").GetProperty("id").GetString()}#{r.GetProperty("relation").GetString()}" +
        $"@{r.GetProperty("subject").GetProperty("object").GetProperty("type").GetString()}:{r.GetProperty("subject").GetProperty("object").GetProperty("id").GetString()}";

    private static JsonElement Json((int, string Output, string) run) => JsonDocument.Parse(run.Output).RootElement;

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // The cells of a table's row (0: the header).
    private static string[] Cells(string table, int row) => Lines(table)[row].Split(' ', StringSplitOptions.RemoveEmptyEntries);

    // authzctl as its own process (dotnet authzctl.dll), with no AUTHZ_* variables and a config file of its own, so
    // only the command line decides where it connects.
    private static async Task<(int Exit, string Output, string Error)> Run(ServerProcess server, string key, string format, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "authzctl.dll"));
        foreach (var arg in args.Concat(["--server", server.Address.ToString(), "--token", key, "--output", format]))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("AUTHZ_TOKEN");
        start.Environment.Remove("AUTHZ_SERVER");
        start.Environment["AUTHZCTL_CONFIG"] = Path.Combine(Path.GetTempPath(), $"authzctl-day-{Environment.ProcessId}-none.json");
        using var process = Process.Start(start)!;
        var (output, error) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
