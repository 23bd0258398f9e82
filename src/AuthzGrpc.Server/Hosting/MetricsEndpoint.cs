using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// The listener Prometheus scrapes (<see cref="AuthzOptions.MetricsUrl"/>): a <see cref="SideListener"/>, since
/// scrapers do not speak cleartext HTTP/2; <see cref="Accepted"/> tells its requests apart from the gRPC endpoint's.
/// </summary>
internal sealed class MetricsEndpoint(IPEndPoint endPoint) : SideListener(endPoint, MetricsConnection.Marker)
{
    /// <summary>The path the scrape is served at.</summary>
    public const string Path = "/metrics";

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
