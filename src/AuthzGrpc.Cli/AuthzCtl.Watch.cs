using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.Cli;

// watch: the relationship changes of each committed revision as they happen (AuthorizationService.Watch).
internal sealed partial class AuthzCtl
{
    private Command WatchCommand()
    {
        var after = new Option<string?>("--after-revision", "--revision")
        {
            Description = "Start after this revision (0: the whole log; the last revision printed, to resume); default: from now on",
        };
        var max = new Option<int?>("--max") { Description = "Stop after this many revisions" };
        var timeout = new Option<double?>("--timeout") { Description = "Stop after this many seconds" };
        var command = new Command("watch",
            "Print the relationship changes of every revision as it commits: '+ relationship' now stored, '- relationship' no longer, then the revision " +
            "(JSON lines with --output json). Runs until Ctrl-C, --max or --timeout, which end it with exit 0")
        {
            after, max, timeout,
        };
        command.SetAction((result, cancellation) => CallAsync(result, async client =>
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            if (result.GetValue(timeout) is { } seconds)
            {
                bound.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            var printer = globals.PrinterOf(result, output);
            var (limit, seen) = (result.GetValue(max) ?? int.MaxValue, 0);
            try
            {
                using var call = client.Watch(new WatchRequest { AfterRevision = result.GetValue(after) ?? string.Empty }, cancellationToken: bound.Token);
                await foreach (var change in call.ResponseStream.ReadAllAsync(bound.Token))
                {
                    printer.Write(change, text =>
                    {
                        foreach (var update in change.Updates)
                        {
                            text.WriteLine($"{(update.Operation == Operation.Delete ? '-' : '+')} {Describe(update.Relationship)}");
                        }

                        text.WriteLine($"at revision {change.Revision}");
                    });
                    output.Flush();
                    if (++seen >= limit)
                    {
                        break;
                    }
                }
            }
            catch (Exception e) when (bound.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                // Ctrl-C or --timeout: the end the user asked for.
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
