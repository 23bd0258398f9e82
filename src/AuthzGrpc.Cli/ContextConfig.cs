using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuthzGrpc.Cli;

/// <summary>A named connection: where the server is, the key (or the file holding it) and TLS.</summary>
internal sealed record ConnectionContext
{
    public string? Server { get; init; }

    /// <summary>The API key itself; never printed (context list says only whether there is one).</summary>
    public string? Token { get; init; }

    /// <summary>A file holding the API key, read when a command runs.</summary>
    public string? TokenFile { get; init; }

    public bool Tls { get; init; }

    public string? Ca { get; init; }

    /// <summary>The client certificate (PEM) for a server that requires one (mutual TLS), with <see cref="Key"/>.</summary>
    public string? Cert { get; init; }

    /// <summary>The private key (PEM) of <see cref="Cert"/>.</summary>
    public string? Key { get; init; }

    public bool Insecure { get; init; }
}

/// <summary>
/// The contexts of <c>authzctl context</c>, in <c>$AUTHZCTL_CONFIG</c>, else <c>$XDG_CONFIG_HOME/authzctl/config.json</c>,
/// else <c>~/.config/authzctl/config.json</c>. The file is written readable by its owner only (0600): it may hold keys.
/// </summary>
internal sealed class ContextConfig
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    };

    /// <summary>The context commands use unless <c>--context</c> names another; null when none is chosen.</summary>
    public string? Current { get; set; }

    public SortedDictionary<string, ConnectionContext> Contexts { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Where the file is, from the environment.</summary>
    public static string PathOf(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment("AUTHZCTL_CONFIG") is { Length: > 0 } explicitPath)
        {
            return explicitPath;
        }

        var configHome = environment("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "authzctl", "config.json");
    }

    /// <summary>The file's contexts; none when there is no file.</summary>
    public static ContextConfig Load(string path) =>
        File.Exists(path)
            ? JsonSerializer.Deserialize<ContextConfig>(File.ReadAllText(path), Json) ?? new ContextConfig()
            : new ContextConfig();

    /// <summary>
    /// Writes the file through a new file created 0600 and moved over the old one, so that no reader ever sees it
    /// half written or readable by others.
    /// </summary>
    public void Save(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(temporary, options))
        {
            writer.Write(JsonSerializer.Serialize(this, Json));
        }

        File.Move(temporary, path, overwrite: true);
    }
}
