using System.Text.RegularExpressions;

namespace AuthzGrpc.LoadTest;

/// <summary>
/// The API key the harness sends, looked up as authzctl does: <c>--token</c>, else <c>AUTHZ_TOKEN</c>, else the
/// content of <c>--token-file</c> (by default <c>.data/bootstrap.key</c>, where a server started from the working folder
/// writes its generated admin key).
/// </summary>
internal static partial class ApiToken
{
    /// <summary>The environment variable holding the key.</summary>
    public const string Variable = "AUTHZ_TOKEN";

    /// <summary>The default key file, relative to the working folder.</summary>
    public static readonly string DefaultFile = Path.Combine(".data", "bootstrap.key");

    /// <summary>The key to send, or null (with <paramref name="error"/> saying where it looked) when there is none.</summary>
    public static string? Resolve(string? token, string? tokenFile, Func<string, string?> environment, out string? error)
    {
        ArgumentNullException.ThrowIfNull(environment);
        error = null;
        if (!string.IsNullOrWhiteSpace(token))
        {
            return token.Trim();
        }

        if (environment(Variable) is { } variable && !string.IsNullOrWhiteSpace(variable))
        {
            return variable.Trim();
        }

        var file = string.IsNullOrEmpty(tokenFile) ? DefaultFile : tokenFile;
        try
        {
            if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } key)
            {
                return key;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read the key file {file}: {e.Message}";
            return null;
        }

        error = $"no API key: pass --token, set {Variable}, or point --token-file at the server's bootstrap.key (looked for {Path.GetFullPath(file)})";
        return null;
    }

    /// <summary><paramref name="text"/> with the secret of every key in it replaced: <c>azk_ID_SECRET</c> becomes <c>azk_ID_…</c>.</summary>
    public static string Mask(string text) => Key().Replace(text, "azk_${id}_…");

    [GeneratedRegex("azk_(?<id>[a-z0-9]{1,32})_[A-Za-z0-9_-]+")]
    private static partial Regex Key();
}
