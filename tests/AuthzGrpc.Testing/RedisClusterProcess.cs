using System.Diagnostics;
using System.Globalization;

namespace AuthzGrpc.Testing;

/// <summary>
/// A Redis Cluster of the test's own: three primaries (no replicas), each a redis-server with <c>--cluster-enabled yes</c>
/// in a folder of its own (its <c>nodes.conf</c>), without persistence, on free loopback ports (client and cluster bus),
/// joined by <c>redis-cli --cluster create</c>. <see cref="MoveSlotAsync"/> moves a slot, with its keys, from one
/// primary to another while clients keep running (ASK and MOVED redirections). Disposing it kills every node and deletes
/// the folders. Needs <c>redis-server</c> and <c>redis-cli</c> on the PATH (scripts/test.sh installs them).
/// </summary>
public sealed class RedisClusterProcess : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly List<Node> _nodes = [];

    private RedisClusterProcess()
    {
    }

    /// <summary>The primaries' client ports, on 127.0.0.1, in the order the cluster was created.</summary>
    public IReadOnlyList<int> Ports => [.. _nodes.Select(n => n.Port)];

    /// <summary>A StackExchange.Redis configuration string naming every primary.</summary>
    public string Configuration => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <summary>
    /// Starts three primaries, creates the cluster over them and waits until every node reports it ok. A free port can be
    /// taken by another test's process before a node binds it: then the cluster starts again on new ports.
    /// </summary>
    public static async Task<RedisClusterProcess> StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortsAsync();
            }
            catch (PortTakenException) when (attempt < 3)
            {
            }
        }
    }

    private static async Task<RedisClusterProcess> StartOnFreePortsAsync()
    {
        var cluster = new RedisClusterProcess();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                cluster._nodes.Add(Node.Start());
            }

            foreach (var node in cluster._nodes)
            {
                await node.WaitUntilAnsweringAsync();
            }

            await RunAsync(["--cluster", "create", .. cluster._nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "0", "--cluster-yes"]);
            await cluster.WaitUntilOkAsync();
            foreach (var node in cluster._nodes)
            {
                node.Id = (await node.CommandAsync("CLUSTER", "MYID")).Trim();
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The hash slot of <paramref name="key"/> (<c>CLUSTER KEYSLOT</c>: the hash tag's, when it has one).</summary>
    public async Task<int> SlotOfAsync(string key) =>
        int.Parse((await _nodes[0].CommandAsync("CLUSTER", "KEYSLOT", key)).Trim(), CultureInfo.InvariantCulture);

    /// <summary>The index (in <see cref="Ports"/>) of the primary that serves <paramref name="slot"/> now.</summary>
    public async Task<int> OwnerOfAsync(int slot) =>
        (await SlotRangesAsync()).First(r => slot >= r.First && slot <= r.Last).Node;

    /// <summary>
    /// Moves <paramref name="slot"/>, with its keys, to primary <paramref name="to"/> as <c>redis-cli --cluster reshard</c>
    /// does for each slot: the target imports it, the owner migrates it (MIGRATE of its keys), and after
    /// <paramref name="pauseWhileMigrating"/> every node is told the new owner. Clients running meanwhile meet ASK
    /// (for keys already moved) while the slot moves and MOVED afterwards.
    /// </summary>
    public async Task MoveSlotAsync(int slot, int to, TimeSpan pauseWhileMigrating)
    {
        var from = await OwnerOfAsync(slot);
        if (from == to)
        {
            return;
        }

        var (source, target) = (_nodes[from], _nodes[to]);
        var number = slot.ToString(CultureInfo.InvariantCulture);
        await target.CommandAsync("CLUSTER", "SETSLOT", number, "IMPORTING", source.Id);
        await source.CommandAsync("CLUSTER", "SETSLOT", number, "MIGRATING", target.Id);
        for (var batch = 0; batch < 1000; batch++)
        {
            var keys = (await source.CommandAsync("CLUSTER", "GETKEYSINSLOT", number, "1000")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (keys.Length == 0)
            {
                break;
            }

            await source.CommandAsync(["MIGRATE", "127.0.0.1", target.Port.ToString(CultureInfo.InvariantCulture), "", "0", "5000", "KEYS", .. keys]);
        }

        await Task.Delay(pauseWhileMigrating);
        foreach (var node in _nodes.OrderBy(n => n == target ? 0 : n == source ? 1 : 2))
        {
            await node.CommandAsync("CLUSTER", "SETSLOT", number, "NODE", target.Id);
        }
    }

    /// <summary>
    /// Kills primary <paramref name="node"/> (as a crash would) and starts it again on the same ports and
    /// <c>nodes.conf</c>: it comes back serving the same slots, empty, as a cache-only primary without replicas does.
    /// Waits until every node reports the cluster ok.
    /// </summary>
    public async Task RestartEmptyAsync(int node)
    {
        await _nodes[node].StopAsync();
        _nodes[node].StartProcess();
        await _nodes[node].WaitUntilAnsweringAsync();
        await WaitUntilOkAsync();
    }

    /// <summary>Runs a command on primary <paramref name="node"/> through redis-cli and returns its output.</summary>
    public Task<string> CommandAsync(int node, params string[] command) => _nodes[node].CommandAsync(command);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    // CLUSTER NODES: "<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot or range>..."; a slot
    // in "[...]" is one being imported or migrated, still served by its owner's range.
    private async Task<List<(int Node, int First, int Last)>> SlotRangesAsync()
    {
        var ranges = new List<(int Node, int First, int Last)>();
        foreach (var line in (await _nodes[0].CommandAsync("CLUSTER", "NODES")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            var node = _nodes.FindIndex(n => n.Id == fields[0]);
            foreach (var range in fields.Skip(8).Where(f => !f.StartsWith('[')))
            {
                var bounds = range.Split('-');
                ranges.Add((node, int.Parse(bounds[0], CultureInfo.InvariantCulture), int.Parse(bounds[^1], CultureInfo.InvariantCulture)));
            }
        }

        return ranges;
    }

    private async Task WaitUntilOkAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var node in _nodes)
        {
            while (!(await node.CommandAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"the cluster is not ok on port {node.Port}");
                }

                await Task.Delay(100);
            }
        }
    }

    private static async Task<string> RunAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start redis-cli (apt-get install -y redis-server)");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {await output}{await error}");
        }

        return await output;
    }

    private sealed class PortTakenException(string message) : Exception(message);

    /// <summary>One primary: its process, folder and ports (the cluster bus on a free port of its own, not port + 10000).</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authz-redis-cluster-");
        private readonly int _busPort = ServerProcess.FreeLoopbackPort();
        private Process? _process;

        public int Port { get; } = ServerProcess.FreeLoopbackPort();

        public string Id { get; set; } = string.Empty;

        public static Node Start()
        {
            var node = new Node();
            try
            {
                node.StartProcess();
                return node;
            }
            catch
            {
                node._folder.Delete(recursive: true);
                throw;
            }
        }

        // Its nodes.conf (identity, slots, epoch) outlives a restart; its data does not (no persistence).
        public void StartProcess()
        {
            var start = new ProcessStartInfo("redis-server")
            {
                WorkingDirectory = _folder.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[]
            {
                "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", _folder.FullName, "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(_folder.FullName, "nodes.conf"),
                "--cluster-port", _busPort.ToString(CultureInfo.InvariantCulture), "--cluster-node-timeout", "5000",
            })
            {
                start.ArgumentList.Add(argument);
            }

            _process = Process.Start(start) ?? throw new InvalidOperationException("could not start redis-server");
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        // Until the node answers on its port; PortTakenException when what answers there is not this node (another
        // process bound the port first, and this redis-server exited).
        public async Task WaitUntilAnsweringAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!await Loopback.ListensAsync(Port))
            {
                if (_process is not { HasExited: false } || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"redis-server did not start on port {Port}");
                }

                await Task.Delay(50);
            }

            if (_process!.HasExited)
            {
                throw new PortTakenException($"redis-server exited: port {Port} is answered by another process");
            }

            var info = await CommandAsync("INFO", "server");
            if (!info.Contains($"process_id:{_process.Id.ToString(CultureInfo.InvariantCulture)}\r", StringComparison.Ordinal)
                && !info.Contains($"process_id:{_process.Id.ToString(CultureInfo.InvariantCulture)}\n", StringComparison.Ordinal))
            {
                throw new PortTakenException($"port {Port} is answered by another process than this redis-server");
            }
        }

        public Task<string> CommandAsync(params string[] command) =>
            RunAsync(["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), .. command]);

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

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _folder.Delete(recursive: true);
        }
    }
}
