using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace AuthzGrpc.Cli;

/// <summary>The root's help, followed by the exit codes (only for the root: a subcommand's help stays its own).</summary>
internal sealed class HelpWithExitCodes(HelpAction help, TextWriter output) : SynchronousCommandLineAction
{
    /// <inheritdoc/>
    public override bool ClearsParseErrors => true;

    /// <inheritdoc/>
    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var exit = help.Invoke(parseResult);
        if (parseResult.CommandResult.Command is RootCommand)
        {
            output.WriteLine(ExitCodes.Help);
        }

        return exit;
    }
}
