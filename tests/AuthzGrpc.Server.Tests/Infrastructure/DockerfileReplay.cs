using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>
/// Replays a Dockerfile without a container engine: each stage gets a folder of its own standing for its file system
/// root, and the stage's WORKDIR, COPY (from the build context, honouring <c>.dockerignore</c>, or <c>--from</c> an
/// earlier stage), ENV and RUN steps are carried out there, absolute paths mapped into that folder. A RUN step that
/// fails, or a COPY of something the context lacks, fails the replay as it would fail <c>docker build</c>. What a
/// container engine alone does (the base images, USER, VOLUME) is not replayed; HEALTHCHECK and ENTRYPOINT are kept
/// for the caller to run.
/// </summary>
public sealed partial class DockerfileReplay
{
    private readonly string _context;
    private readonly string _root;
    private readonly List<Regex> _ignored;
    private readonly Dictionary<string, string> _stageRoots = new(StringComparer.Ordinal);

    private DockerfileReplay(string context, string root)
    {
        _context = context;
        _root = root;
        var ignoreFile = Path.Combine(context, ".dockerignore");
        _ignored = File.Exists(ignoreFile)
            ? File.ReadAllLines(ignoreFile).Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#')).Select(IgnorePattern).ToList()
            : [];
    }

    /// <summary>The environment of the last stage (its ENV values, paths mapped).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The last stage's WORKDIR, mapped.</summary>
    public string WorkingDirectory { get; private set; } = string.Empty;

    /// <summary>The last stage's HEALTHCHECK command (exec form), or null.</summary>
    public IReadOnlyList<string>? HealthCheck { get; private set; }

    /// <summary>The last stage's ENTRYPOINT (exec form), or null.</summary>
    public IReadOnlyList<string>? EntryPoint { get; private set; }

    /// <summary>Every step replayed, one line each, for a failure message.</summary>
    public StringBuilder Transcript { get; } = new();

    /// <summary>
    /// Replays <c>Dockerfile</c> of <paramref name="context"/> under <paramref name="root"/>; <paramref name="runEnvironment"/>
    /// is added to every RUN step's environment (what the base image would define, e.g. APP_UID).
    /// </summary>
    public static async Task<DockerfileReplay> RunAsync(string context, string root, IReadOnlyDictionary<string, string> runEnvironment)
    {
        var replay = new DockerfileReplay(context, root);
        string? stageRoot = null;
        foreach (var (instruction, arguments) in Instructions(File.ReadAllText(Path.Combine(context, "Dockerfile"))))
        {
            replay.Transcript.AppendLine($"{instruction} {arguments}");
            switch (instruction)
            {
                case "FROM":
                    var name = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [.., "AS" or "as", var alias] ? alias : $"stage{replay._stageRoots.Count}";
                    stageRoot = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
                    replay._stageRoots[name] = stageRoot;
                    replay.WorkingDirectory = stageRoot;
                    replay.Environment.Clear();
                    replay.HealthCheck = null;
                    replay.EntryPoint = null;
                    break;
                case "WORKDIR":
                    replay.WorkingDirectory = Directory.CreateDirectory(replay.Map(stageRoot!, arguments)).FullName;
                    break;
                case "COPY":
                    replay.Copy(stageRoot!, arguments);
                    break;
                case "ENV":
                    foreach (Match pair in EnvPair().Matches(arguments))
                    {
                        replay.Environment[pair.Groups["name"].Value] = replay.MapPaths(stageRoot!, pair.Groups["value"].Value.Trim('"'));
                    }

                    break;
                case "RUN":
                    await replay.RunStepAsync(replay.MapPaths(stageRoot!, arguments), runEnvironment);
                    break;
                case "HEALTHCHECK":
                    replay.HealthCheck = ExecForm(arguments[(arguments.IndexOf("CMD ", StringComparison.Ordinal) + 4)..]);
                    break;
                case "ENTRYPOINT":
                    replay.EntryPoint = ExecForm(arguments);
                    break;
                default:
                    break; // USER, VOLUME, EXPOSE, ARG: a container engine's business.
            }
        }

        return replay;
    }

    /// <summary>A process start for <paramref name="command"/> in the last stage's working folder and environment.</summary>
    public ProcessStartInfo Start(IReadOnlyList<string> command)
    {
        var start = CleanStart(command[0], WorkingDirectory);
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in Environment)
        {
            start.Environment[name] = value;
        }

        return start;
    }

    private static ProcessStartInfo CleanStart(string fileName, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };

        // The test host runs under `dotnet test`, whose MSBuild variables would steer a nested build to this repository's
        // own build; a container build has none of them.
        foreach (var name in start.Environment.Keys.Where(name => name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        return start;
    }

    private async Task RunStepAsync(string command, IReadOnlyDictionary<string, string> runEnvironment)
    {
        var start = CleanStart("bash", WorkingDirectory);
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        foreach (var (name, value) in Environment.Concat(runEnvironment))
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(8));
        Transcript.AppendLine(await output).AppendLine(await error);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"RUN {command} exited with {process.ExitCode}:\n{Transcript}");
        }
    }

    private void Copy(string stageRoot, string arguments)
    {
        var words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var from = words[0].StartsWith("--from=", StringComparison.Ordinal) ? _stageRoots[words[0]["--from=".Length..]] : null;
        if (from is not null)
        {
            words.RemoveAt(0);
        }

        var destination = words[^1];
        var target = destination.StartsWith('/') ? Map(stageRoot, destination) : Path.Combine(WorkingDirectory, destination);
        foreach (var source in words.SkipLast(1))
        {
            var path = from is null ? Path.Combine(_context, source) : Map(from, source);
            if (Directory.Exists(path))
            {
                // A folder's contents go into the destination folder.
                foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
                {
                    var relative = Path.GetRelativePath(path, file);
                    if (from is not null || !IsIgnored(Path.GetRelativePath(_context, file)))
                    {
                        CopyFile(file, Path.Combine(target, relative));
                    }
                }
            }
            else if (File.Exists(path) && (from is not null || !IsIgnored(source)))
            {
                CopyFile(path, destination.EndsWith('/') || words.Count > 2 ? Path.Combine(target, Path.GetFileName(path)) : target);
            }
            else
            {
                throw new InvalidOperationException($"COPY {arguments}: {source} is not in the build context:\n{Transcript}");
            }
        }
    }

    private static void CopyFile(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to, overwrite: true);
    }

    private bool IsIgnored(string relativePath)
    {
        var path = relativePath.Replace('\\', '/');
        return _ignored.Any(pattern => pattern.IsMatch(path));
    }

    /// <summary>
    /// A <c>.dockerignore</c> line as a regular expression over a context-relative path: <c>**</c> any folders,
    /// <c>*</c> any characters but '/', a trailing '/' the folder and all under it.
    /// </summary>
    private static Regex IgnorePattern(string line)
    {
        var folder = line.EndsWith('/');
        var body = Regex.Escape(line.TrimEnd('/')).Replace(@"\*\*/", "(?:.*/)?", StringComparison.Ordinal).Replace(@"\*", "[^/]*", StringComparison.Ordinal);
        return new Regex("^" + body + (folder ? "/.*$" : "(?:/.*)?$"), RegexOptions.CultureInvariant);
    }

    /// <summary>An absolute container path mapped into a stage's folder.</summary>
    private string Map(string stageRoot, string path) =>
        path.StartsWith('/') ? Path.Combine(stageRoot, path.TrimStart('/')) : Path.Combine(WorkingDirectory, path);

    /// <summary>Every absolute path in a command or value (after a space, '=' or a quote) mapped into the stage's folder.</summary>
    private string MapPaths(string stageRoot, string text) =>
        AbsolutePath().Replace(text, match => match.Groups["lead"].Value + Map(stageRoot, match.Groups["path"].Value));

    private static List<string> ExecForm(string json) => JsonSerializer.Deserialize<List<string>>(json.Trim())!;

    /// <summary>The instructions with their arguments, continuation lines joined and comments dropped.</summary>
    private static IEnumerable<(string Instruction, string Arguments)> Instructions(string dockerfile)
    {
        var logical = new StringBuilder();
        foreach (var raw in dockerfile.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#') || (logical.Length == 0 && line.Trim().Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                logical.Append(line[..^1]).Append(' ');
                continue;
            }

            logical.Append(line);
            var text = logical.ToString().Trim();
            logical.Clear();
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            yield return (text[..space].ToUpperInvariant(), text[(space + 1)..].Trim());
        }
    }

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>""[^""]*""|\S+)")]
    private static partial Regex EnvPair();

    [GeneratedRegex(@"(?<lead>^|[\s=""])(?<path>/[A-Za-z][^\s""]*)")]
    private static partial Regex AbsolutePath();
}
