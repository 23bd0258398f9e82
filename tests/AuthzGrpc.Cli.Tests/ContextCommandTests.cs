using System.Diagnostics;
using System.Text.Json;
using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary><c>authzctl context ...</c> with a config file of the test's own, against a real server; and <c>completion</c>.</summary>
public sealed class ContextCommandTests(AdminServer server) : IClassFixture<AdminServer>, IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-contexts-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string ConfigPath => Path.Combine(_folder.FullName, "config", "authzctl.json");

    // authzctl with the test's config file (and no AUTHZ_* variables), from a working folder without a key file.
    private async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AuthzCtl.RunAsync(args, output, error, _folder.FullName, name => name == "AUTHZCTL_CONFIG" ? ConfigPath : null);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task List_WithoutContexts_SaysSo_AndIsAnEmptyArrayInJson()
    {
        var table = await Run("context", "list");
        var json = await Run("context", "list", "--output", "json");

        Assert.Equal((0, "no contexts found"), (table.Exit, table.Output.Trim()));
        Assert.Equal((0, "[]"), (json.Exit, json.Output.Trim()));
    }

    [Fact]
    public async Task AddUseListRemove_AndExplicitOptionsOverrideTheContext()
    {
        var key = server.Process.Key!;
        var keyFile = Path.Combine(_folder.FullName, "key");
        await File.WriteAllTextAsync(keyFile, key + "\n");
        var unreachable = $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}";

        var add = await Run("context", "add", "local", "--server", server.Process.Address.ToString(), "--token", key);
        var addOther = await Run("context", "add", "elsewhere", "--server", unreachable, "--token-file", keyFile);

        Assert.Equal(0, add.Exit);
        Assert.Contains("(current)", add.Output, StringComparison.Ordinal);
        Assert.Equal(0, addOther.Exit);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ConfigPath));
        }

        Assert.Equal(0, (await Run("check", "application:storefront-web", "deploy", "user:olivia")).Exit);
        Assert.Equal(5, (await Run("check", "application:storefront-web", "deploy", "user:olivia", "--context", "elsewhere")).Exit);

        Assert.Equal(0, (await Run("context", "use", "elsewhere")).Exit);
        Assert.Equal(5, (await Run("check", "application:storefront-web", "deploy", "user:olivia")).Exit);
        // Another server named: the context's key is not sent there (and there is no other key here).
        Assert.Equal(3, (await Run("check", "application:storefront-web", "deploy", "user:olivia", "--server", server.Process.Address.ToString())).Exit);
        Assert.Equal(0, (await Run("check", "application:storefront-web", "deploy", "user:olivia", "--server", server.Process.Address.ToString(), "--token", key)).Exit);
        // Its own server named: the context applies, its key read from its file.
        Assert.Equal(0, (await Run("context", "add", "samefile", "--server", server.Process.Address.ToString(), "--token-file", keyFile)).Exit);
        Assert.Equal(0, (await Run("check", "application:storefront-web", "deploy", "user:olivia", "--context", "samefile", "--server", server.Process.Address.ToString())).Exit);

        var list = await Run("context", "list");
        var listJson = await Run("context", "list", "-o", "json");
        Assert.Equal(0, list.Exit);
        Assert.DoesNotContain(TestKeys.SecretOf(key), list.Output + listJson.Output, StringComparison.Ordinal);
        Assert.Matches(@"^\* +elsewhere +http://127\.0\.0\.1:\d+ +- +file ", list.Output.Split('\n')[1]);
        using (var json = JsonDocument.Parse(listJson.Output))
        {
            var local = json.RootElement.EnumerateArray().Single(c => c.GetProperty("name").GetString() == "local");
            Assert.Equal("stored", local.GetProperty("key").GetString());
            Assert.False(local.GetProperty("current").GetBoolean());
        }

        Assert.Equal(2, (await Run("context", "use", "nosuch")).Exit);
        Assert.Equal(2, (await Run("check", "application:storefront-web", "deploy", "user:olivia", "--context", "nosuch")).Exit);
        Assert.Equal(0, (await Run("context", "remove", "elsewhere")).Exit);
        Assert.DoesNotContain("elsewhere", (await Run("context", "list")).Output, StringComparison.Ordinal);
        Assert.Equal(2, (await Run("context", "add", "plain", "--server", "127.0.0.1:1", "--tls", "--insecure")).Exit);
    }

    [Fact]
    public async Task Completion_Bash_CompletesCommandsAndOptions()
    {
        var (exit, script, _) = await Run("completion", "bash");
        Assert.Equal(0, exit);
        var file = Path.Combine(_folder.FullName, "authzctl.bash");
        await File.WriteAllTextAsync(file, script);

        var top = await Complete(file, "authzctl sch");
        var schema = await Complete(file, "authzctl --server http://x schema ''");
        var import = await Complete(file, "authzctl relationship import file.txt --b");

        Assert.Equal(["schema"], top);
        Assert.Equal(["diff", "read", "validate", "write"], schema.Where(w => !w.StartsWith('-')).Order(StringComparer.Ordinal));
        Assert.Equal(["--batch-size"], import);
        Assert.Equal(0, (await Run("completion", "zsh")).Exit);
        Assert.Contains("complete -c authzctl -f -n '__fish_use_subcommand' -a '", (await Run("completion", "fish")).Output, StringComparison.Ordinal);
        Assert.Equal(2, (await Run("completion", "powershell")).Exit);
    }

    // Runs the bash completion function on a command line (the last word being completed) and returns its words.
    private static async Task<string[]> Complete(string script, string line)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"source '{script}'; COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _authzctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"");
        using var bash = Process.Start(start)!;
        var output = await bash.StandardOutput.ReadToEndAsync();
        await bash.WaitForExitAsync();
        Assert.True(bash.ExitCode == 0, await bash.StandardError.ReadToEndAsync());
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
