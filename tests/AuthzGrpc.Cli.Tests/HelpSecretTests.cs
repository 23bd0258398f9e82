using System.CommandLine;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// No secret in any help: with a key in <c>AUTHZ_TOKEN</c> and another in <c>.data/bootstrap.key</c> of the working
/// folder, <c>--help</c> of every command (found by walking the command tree) prints neither key.
/// </summary>
public sealed class HelpSecretTests : IDisposable
{
    private const string FileKey = "azk_filekey0001_Secret-From-The-Bootstrap-File-0123456789";
    private const string EnvironmentKey = "azk_envkey0001_Secret-From-The-Environment-0123456789";

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-help-");

    public HelpSecretTests()
    {
        Directory.CreateDirectory(Path.Combine(_folder.FullName, ".data"));
        File.WriteAllText(Path.Combine(_folder.FullName, AuthzCtl.TokenFile), FileKey + "\n");
    }

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
                ("the key file only", _ => null),
                ("AUTHZ_TOKEN and the key file", name => name == AuthzCtl.TokenVariable ? EnvironmentKey : null),
            })
            {
                using var output = new StringWriter();
                using var error = new StringWriter();
                var exit = await AuthzCtl.RunAsync([.. command, "--help"], output, error, _folder.FullName, environment);
                var text = output + "\n" + error;

                Assert.Equal(0, exit);
                Assert.Contains("--token", text, StringComparison.Ordinal);
                foreach (var secret in new[] { FileKey, EnvironmentKey, TestSecret(FileKey), TestSecret(EnvironmentKey) })
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
