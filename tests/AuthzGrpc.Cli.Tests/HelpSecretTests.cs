using System.CommandLine;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// No secret in any help: with a key in <c>AUTHZ_TOKEN</c>, another in <c>.data/bootstrap.key</c> of the working
/// folder and a third in a context of the config file, <c>--help</c> of every command (found by walking the command
/// tree) prints none of them, and neither does <c>context list</c>.
/// </summary>
public sealed class HelpSecretTests : IDisposable
{
    private const string FileKey = "azk_filekey0001_Secret-From-The-Bootstrap-File-0123456789";
    private const string EnvironmentKey = "azk_envkey0001_Secret-From-The-Environment-0123456789";
    private const string ContextKey = "azk_ctxkey0001_Secret-From-A-Context-Of-The-Config-0123";

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-help-");

    public HelpSecretTests()
    {
        Directory.CreateDirectory(Path.Combine(_folder.FullName, ".data"));
        File.WriteAllText(Path.Combine(_folder.FullName, AuthzCtl.TokenFile), FileKey + "\n");
        var config = new ContextConfig { Current = "prod" };
        config.Contexts["prod"] = new ConnectionContext { Server = "https://authz.example:443", Token = ContextKey };
        config.Save(ConfigPath);
    }

    private string ConfigPath => Path.Combine(_folder.FullName, "config.json");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Help_OfEveryCommand_NeverShowsTheKey()
    {
        var commands = Paths(AuthzCtl.CreateRoot(TextWriter.Null, TextWriter.Null, _folder.FullName, _ => null), []).ToList();
        var shown = new List<string>();

        foreach (var command in commands)
        {
            foreach (var (setting, environment) in new (string, Func<string, string?>)[]
            {
                ("the key file and a context", name => name == "AUTHZCTL_CONFIG" ? ConfigPath : null),
                ("AUTHZ_TOKEN, the key file and a context", name => name == AuthzCtl.TokenVariable ? EnvironmentKey : name == "AUTHZCTL_CONFIG" ? ConfigPath : null),
            })
            {
                using var output = new StringWriter();
                using var error = new StringWriter();
                var exit = await AuthzCtl.RunAsync([.. command, "--help"], output, error, _folder.FullName, environment);
                var text = output + "\n" + error;

                Assert.Equal(0, exit);
                Assert.Contains("--token", text, StringComparison.Ordinal);
                foreach (var secret in Secrets)
                {
                    if (text.Contains(secret, StringComparison.Ordinal))
                    {
                        shown.Add($"authzctl {string.Join(' ', command)} --help ({setting}) shows {secret}");
                    }
                }
            }
        }

        Assert.True(commands.Count > 10, $"only {commands.Count} commands found");
        Assert.True(shown.Count == 0, string.Join('\n', shown));
    }

    [Theory]
    [InlineData("table")]
    [InlineData("json")]
    public async Task ContextList_NeverShowsTheKey(string format)
    {
        using var output = new StringWriter();

        var exit = await AuthzCtl.RunAsync(["context", "list", "-o", format], output, TextWriter.Null, _folder.FullName, name => name == "AUTHZCTL_CONFIG" ? ConfigPath : null);

        Assert.Equal(0, exit);
        Assert.Contains("prod", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secrets, s => output.ToString().Contains(s, StringComparison.Ordinal));
    }

    private static string[] Secrets => [FileKey, EnvironmentKey, ContextKey, TestSecret(FileKey), TestSecret(EnvironmentKey), TestSecret(ContextKey)];

    // The secret part of azk_<id>_<secret>.
    private static string TestSecret(string key) => key[(key.IndexOf('_', 4) + 1)..];

    // Every command as the words that name it (the root as none), depth first.
    private static IEnumerable<string[]> Paths(Command command, string[] path)
    {
        yield return path;
        foreach (var sub in command.Subcommands)
        {
            foreach (var nested in Paths(sub, [.. path, sub.Name]))
            {
                yield return nested;
            }
        }
    }
}
