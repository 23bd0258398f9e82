using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace AuthzGrpc.LoadTest;

/// <summary>
/// The only addresses the harness sends load to: a server on this machine. A load test aimed at any other host would be
/// traffic nobody agreed to receive, so a target that is not loopback is refused before a connection is opened.
/// </summary>
internal static class LoopbackTarget
{
    /// <summary>
    /// Parses <paramref name="text"/> as an <c>http://</c> or <c>https://</c> URL whose host is <c>localhost</c> or a
    /// loopback address (127.0.0.0/8, ::1), with no path, query or credentials; otherwise <paramref name="error"/> says
    /// why not.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Uri? target, [NotNullWhen(false)] out string? error)
    {
        target = null;
        if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri))
        {
            error = $"'{text}' is not a URL: expected e.g. http://127.0.0.1:50051";
            return false;
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            error = $"'{text}': the scheme must be http (h2c) or https";
            return false;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo) || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            error = $"'{text}': give only scheme, host and port (the harness adds the gRPC method paths)";
            return false;
        }

        if (!IsLoopbackHost(uri))
        {
            error = $"'{text}' is not a loopback address: the harness only loads a server on this machine (127.0.0.1, ::1 or localhost)";
            return false;
        }

        target = uri;
        error = null;
        return true;
    }

    private static bool IsLoopbackHost(Uri uri)
    {
        if (uri.HostNameType == UriHostNameType.Dns)
        {
            // The name, not what it resolves to: only the loopback name itself is accepted.
            return string.Equals(uri.IdnHost, "localhost", StringComparison.OrdinalIgnoreCase);
        }

        return IPAddress.TryParse(uri.IdnHost, out var address) && IPAddress.IsLoopback(address);
    }
}
