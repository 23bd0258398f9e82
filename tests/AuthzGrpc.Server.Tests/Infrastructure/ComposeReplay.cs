using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using AuthzGrpc.Testing;
using Npgsql;
using YamlDotNet.RepresentationModel;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// Replays <c>docker-compose.yml</c> without a container engine: each service becomes a local process on free loopback
/// ports — an image <c>redis:*</c> a <see cref="RedisProcess"/>, <c>postgres:*</c> a <see cref="PostgresProcess"/> with
/// the image's user and database, <c>build: .</c> the replayed image's server (<see cref="DockerfileReplay"/>) with the
/// service's environment over the image's, <c>nginx:*</c> Debian's nginx with the service's mounted configuration —
/// started in <c>depends_on</c> order, each waited for until healthy (the image's own HEALTHCHECK for the servers).
/// Service addresses in values (<c>name:port</c>, <c>Host=name;Port=port</c>) are mapped to the processes' loopback
/// ports, and <c>${VAR:?message}</c> is filled from the given variables (missing: the replay fails, as compose does).
/// </summary>
internal sealed partial class ComposeReplay : IAsyncDisposable
{
    private readonly YamlMappingNode _services;
    private readonly DockerfileReplay _image;
    private readonly IReadOnlyDictionary<string, string> _variables;
    private readonly string _folder;
    private readonly Dictionary<(string Service, int Port), int> _ports = [];
    private readonly Dictionary<string, Process> _processes = new(StringComparer.Ordinal);

    // What each service printed (standard output and error), for the message of a service that failed to start.
    private readonly Dictionary<string, System.Collections.Concurrent.ConcurrentQueue<string>> _output = new(StringComparer.Ordinal);
    private readonly List<IAsyncDisposable> _owned = [];

    private ComposeReplay(YamlMappingNode services, DockerfileReplay image, IReadOnlyDictionary<string, string> variables, string folder)
    {
        _services = services;
        _image = image;
        _variables = variables;
        _folder = folder;
    }

    /// <summary>The host port a service's published or container port maps to, on 127.0.0.1.</summary>
    public int PortOf(string service, int containerPort) => _ports[(service, containerPort)];

    /// <summary>Stops one service's process at once, as a crashed container.</summary>
    public async Task KillAsync(string service)
    {
        var process = _processes[service];
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
    }

    /// <summary>Starts every service of <paramref name="composeFile"/>, dependencies first.</summary>
    public static async Task<ComposeReplay> UpAsync(string composeFile, DockerfileReplay image, IReadOnlyDictionary<string, string> variables)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(composeFile))
        {
            yaml.Load(reader);
        }

        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
        var replay = new ComposeReplay(services, image, variables, Directory.CreateTempSubdirectory("authz-compose-").FullName);
        try
        {
            var started = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in services.Children.Keys.Select(key => ((YamlScalarNode)key).Value!))
            {
                await replay.StartWithDependenciesAsync(name, started);
            }

            return replay;
        }
        catch
        {
            await replay.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes.Values.Reverse())
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }

            process.Dispose();
        }

        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private async Task StartWithDependenciesAsync(string name, HashSet<string> started)
    {
        if (!started.Add(name))
        {
            return;
        }

        var service = (YamlMappingNode)_services[name];
        if (service.Children.TryGetValue("depends_on", out var dependsOn))
        {
            var dependencies = dependsOn is YamlMappingNode map ? map.Children.Keys : ((YamlSequenceNode)dependsOn).Children;
            foreach (var dependency in dependencies)
            {
                await StartWithDependenciesAsync(((YamlScalarNode)dependency).Value!, started);
            }
        }

        var image = Scalar(service, "image") ?? string.Empty;
        if (image.StartsWith("redis:", StringComparison.Ordinal))
        {
            var redis = await RedisProcess.StartAsync();
            _owned.Add(redis);
            _ports[(name, 6379)] = redis.Port;
        }
        else if (image.StartsWith("postgres:", StringComparison.Ordinal))
        {
            await StartPostgresAsync(name, service);
        }
        else if (Scalar(service, "build") == ".")
        {
            await StartServerAsync(name, service);
        }
        else if (image.StartsWith("nginx:", StringComparison.Ordinal))
        {
            await StartNginxAsync(name, service);
        }
        else
        {
            throw new InvalidOperationException($"service {name}: no local replay for image '{image}'");
        }
    }

    private async Task StartPostgresAsync(string name, YamlMappingNode service)
    {
        var environment = Environment(service);
        Assert.Equal(PostgresProcess.User, environment["POSTGRES_USER"]);
        var postgres = await PostgresProcess.StartAsync();
        _owned.Add(postgres);
        _ports[(name, 5432)] = postgres.Port;

        // The image creates POSTGRES_DB at its first start.
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{environment["POSTGRES_DB"]}\"", connection);
        await create.ExecuteNonQueryAsync();
    }

    private async Task StartServerAsync(string name, YamlMappingNode service)
    {
        // The service's environment over the image's; the image listens on every interface, the replay on loopback.
        _ports[(name, 50051)] = ServerProcess.FreeLoopbackPort();
        var start = _image.Start(_image.EntryPoint!);
        foreach (var (variable, value) in Environment(service))
        {
            start.Environment[variable] = value;
        }

        start.Environment["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{_ports[(name, 50051)]}";
        start.Environment["Authz__MetricsUrl"] = $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}";
        var process = Launch(name, start);

        var probe = _image.Start(_image.HealthCheck!);
        probe.Environment["Kestrel__Endpoints__Grpc__Url"] = start.Environment["Kestrel__Endpoints__Grpc__Url"];
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (await ChildProcess.ExitCodeAsync(probe, TimeSpan.FromSeconds(30)) != 0)
        {
            Assert.False(process.HasExited, $"service {name} exited with {(process.HasExited ? process.ExitCode : 0)}: {Printed(name)}");
            Assert.True(DateTime.UtcNow < deadline, $"service {name} never became healthy");
            await Task.Delay(300);
        }
    }

    private async Task StartNginxAsync(string name, YamlMappingNode service)
    {
        // The mounted configuration, with its listening port on loopback and its upstreams mapped.
        var mount = ((YamlSequenceNode)service["volumes"]).Children.Select(v => ((YamlScalarNode)v).Value!).Single(v => v.Contains("nginx.conf", StringComparison.Ordinal));
        var source = Path.Combine(Repository.Root, mount.Split(':')[0]);
        var published = ((YamlSequenceNode)service["ports"]).Children.Select(p => ((YamlScalarNode)p).Value!.Split(':')).ToList();
        var configuration = await File.ReadAllTextAsync(source);
        foreach (var port in published)
        {
            var host = ServerProcess.FreeLoopbackPort();
            _ports[(name, int.Parse(port[^1], CultureInfo.InvariantCulture))] = host;
            configuration = configuration.Replace($"listen {port[^1]} ", $"listen 127.0.0.1:{host} ", StringComparison.Ordinal);
        }

        var prefix = Directory.CreateDirectory(Path.Combine(_folder, name)).FullName;
        var file = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(file, MapAddresses(configuration));
        var start = new ProcessStartInfo(File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-p", prefix, "-c", file, "-e", "stderr", "-g", $"daemon off; pid {Path.Combine(prefix, "nginx.pid")};" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Launch(name, start);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await Loopback.ListensAsync(_ports.Where(p => p.Key.Service == name).First().Value))
        {
            Assert.False(process.HasExited, $"nginx exited: {Printed(name)}");
            Assert.True(DateTime.UtcNow < deadline, "nginx never listened");
            await Task.Delay(100);
        }
    }

    private string Printed(string name) => string.Join('\n', _output[name]);

    private Process Launch(string name, ProcessStartInfo start)
    {
        var process = Process.Start(start)!;
        var output = _output[name] = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        process.ErrorDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes[name] = process;
        return process;
    }

    private Dictionary<string, string> Environment(YamlMappingNode service) =>
        service.Children.TryGetValue("environment", out var environment)
            ? ((YamlMappingNode)environment).Children.ToDictionary(
                pair => ((YamlScalarNode)pair.Key).Value!, pair => MapAddresses(Substitute(((YamlScalarNode)pair.Value).Value ?? string.Empty)), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary><c>${VAR}</c> and <c>${VAR:?message}</c> from the given variables.</summary>
    private string Substitute(string value) =>
        Variable().Replace(value, match => _variables.TryGetValue(match.Groups["name"].Value, out var found)
            ? found
            : throw new InvalidOperationException($"compose needs {match.Groups["name"].Value}: {match.Groups["message"].Value}"));

    /// <summary>Service addresses (<c>name:port</c>, <c>Host=name;Port=port</c>) as the replay's loopback ports.</summary>
    private string MapAddresses(string text)
    {
        foreach (var ((service, port), host) in _ports)
        {
            text = text.Replace($"{service}:{port}", $"127.0.0.1:{host}", StringComparison.Ordinal)
                .Replace($"Host={service};Port={port}", $"Host=127.0.0.1;Port={host}", StringComparison.Ordinal);
        }

        return text;
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) && value is YamlScalarNode scalar ? scalar.Value : null;



    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::\?(?<message>[^}]*))?\}")]
    private static partial Regex Variable();
}
