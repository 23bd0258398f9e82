using System.Diagnostics;

namespace AuthzGrpc.Testing;

/// <summary>Short-lived commands a test runs to completion (a health probe, a client), their output drained.</summary>
public static class ChildProcess
{
    /// <summary>
    /// Runs the command (which must redirect standard output and error) and returns its exit code; a command still
    /// running after <paramref name="timeout"/> fails the test with a <see cref="TimeoutException"/>.
    /// </summary>
    public static async Task<int> ExitCodeAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(timeout);
        await Task.WhenAll(output, error);
        return process.ExitCode;
    }
}
