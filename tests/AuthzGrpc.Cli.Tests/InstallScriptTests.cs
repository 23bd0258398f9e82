using System.Diagnostics;
using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// scripts/install-authzctl.sh without packing: its syntax (bash -n), its usage and its refusal of unknown arguments.
/// (Packing and installing take over a minute on a shared machine, so the install itself is not run here.)
/// </summary>
public sealed class InstallScriptTests
{
    private static string Script => Path.Combine(Repository.Root, "scripts", "install-authzctl.sh");

    [Fact]
    public async Task Script_ParsesAndPrintsItsUsage_AndRefusesUnknownArguments()
    {
        Assert.Equal(0, (await Bash("-n", Script)).Exit);
        var help = await Bash(Script, "--help");
        var unknown = await Bash(Script, "--nonsense");

        Assert.Equal(0, help.Exit);
        Assert.Contains("Usage: scripts/install-authzctl.sh [--tool-path DIR]", help.Output, StringComparison.Ordinal);
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("unknown argument: --nonsense", unknown.Error, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Error)> Bash(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var bash = Process.Start(start)!;
        var (output, error) = (bash.StandardOutput.ReadToEndAsync(), bash.StandardError.ReadToEndAsync());
        await bash.WaitForExitAsync();
        return (bash.ExitCode, await output, await error);
    }
}
