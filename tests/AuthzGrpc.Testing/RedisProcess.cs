using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace AuthzGrpc.Testing;

/// <summary>
/// A redis-server of the test's own on a free loopback port, without persistence (so a restart comes back empty, as
/// after a crash of a cache-only Redis). <see cref="StopAsync"/> and <see cref="StartAgainAsync"/> take it down and
/// bring it back on the same port; disposing it stops it and deletes its folder. Needs <c>redis-server</c> on the
/// PATH (scripts/test.sh installs it).
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private readonly DirectoryInfo _folder;
    private Process? _process;

    private RedisProcess(int port, DirectoryInfo folder)
    {
        Port = port;
        _folder = folder;
    }

    /// <summary>The port it listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for it.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a redis-server and waits until it answers PING.</summary>
    public static async Task<RedisProcess> StartAsync()
    {
        var redis = new RedisProcess(ServerProcess.FreeLoopbackPort(), Directory.CreateTempSubdirectory("authz-redis-"));
        try
        {
            await redis.StartAgainAsync();
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server again on the same port (empty: nothing is persisted).</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = _folder.FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _folder.FullName })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start redis-server (apt-get install -y redis-server)");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await CommandAsync("PING") != "+PONG")
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"redis-server did not start on port {Port}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Kills the server (as a crash would) and waits until the port no longer answers.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>
    /// Sends one command (inline protocol: words separated by spaces) and returns the first line of the reply, e.g.
    /// <c>+OK</c> or <c>:42</c>; null when nothing listens.
    /// </summary>
    public async Task<string?> CommandAsync(string command)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>The value of one field of <c>INFO</c>, e.g. <c>cmdstat_get</c> (null when absent).</summary>
    public async Task<string?> InfoFieldAsync(string section, string field)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"INFO {section}\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var header = await reader.ReadLineAsync() ?? string.Empty;
        var length = int.Parse(header[1..], System.Globalization.CultureInfo.InvariantCulture);
        var buffer = new char[length];
        var read = 0;
        while (read < length)
        {
            read += await reader.ReadAsync(buffer.AsMemory(read, length - read));
        }

        foreach (var line in new string(buffer).Split("\r\n"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return line[(field.Length + 1)..];
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _folder.Delete(recursive: true);
    }
}
