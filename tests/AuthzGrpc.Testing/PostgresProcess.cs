using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace AuthzGrpc.Testing;

/// <summary>
/// A PostgreSQL server of the test's own: a new cluster (Debian's <c>postgresql</c> package, <c>initdb</c>) in a
/// temporary folder, listening on a free loopback port, with a superuser <c>authz</c> that any password authenticates
/// (trust: the cluster lives only as long as the test). Durability settings are off, as nothing outlives it.
/// Disposing it stops the server and deletes the folder. As root, the cluster runs as the <c>postgres</c> user,
/// since PostgreSQL refuses to run as root. Needs the package (scripts/test.sh installs it).
/// </summary>
public sealed class PostgresProcess : IAsyncDisposable
{
    /// <summary>The superuser of the cluster.</summary>
    public const string User = "authz";

    private readonly DirectoryInfo _folder;
    private readonly Process _process;

    private PostgresProcess(int port, DirectoryInfo folder, Process process)
    {
        Port = port;
        _folder = folder;
        _process = process;
    }

    /// <summary>The port it listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>An Npgsql connection string for the <c>postgres</c> database as <see cref="User"/>.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username={User};Password=unused;Database=postgres";

    /// <summary>Creates a cluster, starts it and waits until it accepts connections.</summary>
    public static async Task<PostgresProcess> StartAsync()
    {
        var bin = BinFolder();
        var folder = Directory.CreateTempSubdirectory("authz-postgres-");
        var data = Path.Combine(folder.FullName, "data");
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await RunAsync("chown", "-R", "postgres:postgres", folder.FullName);
        }

        await RunAsync(Command(asRoot, Path.Combine(bin, "initdb"), "-D", data, "-U", User, "--auth=trust", "-E", "UTF8", "--no-sync"));
        var port = ServerProcess.FreeLoopbackPort();
        var start = Start(Command(asRoot, Path.Combine(bin, "postgres"), "-D", data, "-p", port.ToString(CultureInfo.InvariantCulture),
            "-k", folder.FullName, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200"));
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start postgres");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PostgresProcess(port, folder, process);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!await server.AcceptsConnectionsAsync(bin))
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"postgres did not start on port {port}");
                }

                await Task.Delay(100);
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Stops the server and deletes its folder once this (the test) process has exited, however it ends — the test
    /// runner may end it without running its exit handlers: a shell started beside it polls for the process every second
    /// (for at most 4 hours) and then does what <see cref="DisposeAsync"/> does. For a server shared by a whole test run.
    /// </summary>
    public void StopAfterThisProcessExits()
    {
        const string Script = """
            i=0
            while kill -0 "$1" 2>/dev/null && [ "$i" -lt 14400 ]; do sleep 1; i=$((i+1)); done
            postmaster=$(head -n 1 "$2/data/postmaster.pid")
            kill -INT "$postmaster" 2>/dev/null
            i=0
            while kill -0 "$postmaster" 2>/dev/null && [ "$i" -lt 150 ]; do sleep 0.1; i=$((i+1)); done
            kill -KILL "$postmaster" 2>/dev/null
            rm -rf "$2"
            """;
        // The postmaster itself is signalled (its pid file names it): as root, the process started is runuser, which
        // does not pass SIGINT on.
        var start = Start(["sh", "-c", Script, "postgres-watchdog", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), _folder.FullName]);
        start.RedirectStandardOutput = false;
        start.RedirectStandardError = false;
        using var watchdog = Process.Start(start) ?? throw new InvalidOperationException("could not start the watchdog shell");
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGINT: "fast shutdown", which ends every session, as the cluster is thrown away anyway.
            using (var interrupt = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            try
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        _folder.Delete(recursive: true);
    }

    private async Task<bool> AcceptsConnectionsAsync(string bin)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, Port);
        }
        catch (SocketException)
        {
            return false;
        }

        // Listening is not yet accepting sessions (the startup process may still run): ask as a client would.
        using var ready = Process.Start(Start([Path.Combine(bin, "pg_isready"), "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", User]))!;
        await ready.WaitForExitAsync();
        return ready.ExitCode == 0;
    }

    private static string BinFolder()
    {
        var versions = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
        return versions
            .Select(folder => Path.Combine(folder, "bin"))
            .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
            .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
            .FirstOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL is not installed (apt-get install -y postgresql; scripts/test.sh does it)");
    }

    private static string[] Command(bool asRoot, params string[] command) =>
        asRoot ? ["runuser", "-u", "postgres", "--", .. command] : command;

    private static ProcessStartInfo Start(string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private static async Task RunAsync(params string[] command)
    {
        using var process = Process.Start(Start(command))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}
