using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// An HTTP/1.1 listener beside the gRPC endpoint, on an address of its own (the gRPC endpoint speaks cleartext HTTP/2
/// only, which scrapers and browsers do not). Every connection it accepts carries <paramref name="marker"/> as a
/// connection feature of the marker's own type, so a request can be told to have arrived here — whatever port was bound
/// (port 0 included) and whatever Host header the client sends — by looking that feature up.
/// </summary>
internal abstract class SideListener(IPEndPoint endPoint, object marker)
{
    private ListenOptions? _listener;

    /// <summary>The address bound, e.g. <c>http://127.0.0.1:9464/</c>, once the server has started (the port chosen when the URL gave 0); null before.</summary>
    public Uri? Address =>
        Volatile.Read(ref _listener)?.EndPoint is IPEndPoint { Port: not 0 } bound ? new Uri($"http://{bound}/") : null;

    /// <summary>Adds the HTTP/1.1 listener to Kestrel, beside the endpoints of the configuration (gRPC).</summary>
    public void Listen(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.Listen(endPoint, listener =>
        {
            // The defaults make every endpoint HTTP/2 only (for gRPC without TLS).
            listener.Protocols = HttpProtocols.Http1;
            listener.Use(next => connection =>
            {
                // Keyed by the marker's own type; request features fall back to the connection's, so every request on
                // it sees the marker.
                connection.Features[marker.GetType()] = marker;
                return next(connection);
            });
            Volatile.Write(ref _listener, listener);
        });
    }
}
