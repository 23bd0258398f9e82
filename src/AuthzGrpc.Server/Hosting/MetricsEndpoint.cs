using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// The listener Prometheus scrapes (<see cref="AuthzOptions.MetricsUrl"/>): HTTP/1.1 on an address of its own, because
/// the gRPC endpoint speaks cleartext HTTP/2 only, which scrapers do not. Every connection it accepts carries a marker,
/// so <see cref="Accepted"/> tells its requests apart from the gRPC endpoint's whatever port each bound (port 0
/// included) and whatever Host header a client sends.
/// </summary>
internal sealed class MetricsEndpoint(IPEndPoint endPoint)
{
    /// <summary>The path the scrape is served at.</summary>
    public const string Path = "/metrics";

    private ListenOptions? _listener;

    /// <summary>
    /// The address bound, e.g. <c>http://127.0.0.1:9464/</c>, once the server has started (the port chosen when the URL
    /// gave 0); null before.
    /// </summary>
    public Uri? Address =>
        Volatile.Read(ref _listener)?.EndPoint is IPEndPoint { Port: not 0 } bound ? new Uri($"http://{bound}/") : null;

    /// <summary>
    /// Reads <paramref name="url"/>: null, empty or blank is metrics off (true, <paramref name="endPoint"/> null); an
    /// <c>http://IP:PORT</c> URL gives the address to listen on; anything else is false with an
    /// <paramref name="error"/> that says what to write instead.
    /// </summary>
    public static bool TryParse(string? url, out IPEndPoint? endPoint, [NotNullWhen(false)] out string? error)
    {
        endPoint = null;
        error = null;
        if (string.IsNullOrWhiteSpace(url))
        {
            return true;
        }

        if (Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && uri.Scheme == Uri.UriSchemeHttp
            && uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
            && uri.AbsolutePath == "/"
            && uri.Query.Length == 0
            && IPAddress.TryParse(uri.DnsSafeHost, out var address))
        {
            endPoint = new IPEndPoint(address, uri.Port);
            return true;
        }

        error = $"{AuthzOptions.MetricsUrlKey} '{url}' is not an address to serve metrics on: give http://IP:PORT, e.g. "
            + $"{AuthzOptions.DefaultMetricsUrl} (http://0.0.0.0:9464 for every interface), or an empty value to turn metrics off";
        return false;
    }

    /// <summary>Whether <paramref name="context"/> arrived on this endpoint (its connection carries the marker).</summary>
    public static bool Accepted(HttpContext context) => context.Features.Get<MetricsConnection>() is not null;

    /// <summary>Adds the HTTP/1.1 listener to Kestrel, beside the endpoints of the configuration (gRPC).</summary>
    public void Listen(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.Listen(endPoint, listener =>
        {
            // The defaults make every endpoint HTTP/2 only (for gRPC without TLS); scrapers speak HTTP/1.1.
            listener.Protocols = HttpProtocols.Http1;
            listener.Use(next => connection =>
            {
                // Request features fall back to the connection's, so every request on it sees the marker.
                connection.Features.Set(MetricsConnection.Marker);
                return next(connection);
            });
            Volatile.Write(ref _listener, listener);
        });
    }

    /// <summary>Marks a connection accepted by the metrics listener.</summary>
    private sealed class MetricsConnection
    {
        public static readonly MetricsConnection Marker = new();
    }
}

/// <summary>Validates <see cref="AuthzOptions.MetricsUrl"/> with <see cref="MetricsEndpoint.TryParse"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class MetricsUrlAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        MetricsEndpoint.TryParse(value as string, out _, out var error) ? ValidationResult.Success : new ValidationResult(error);
}
