namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// Kestrel's gRPC settings, as lowest-priority configuration. The server's defaults (<c>AuthzServer</c>) start
/// from them, and the floor server (<c>load-tests/AuthzGrpc.Floor</c>) compiles this very file, so the two cannot drift
/// and the floor measures the same transport.
/// </summary>
internal static class GrpcKestrel
{
    /// <summary>Where the server listens unless <c>Kestrel:Endpoints:Grpc:Url</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:50051";

    /// <summary>The configuration key of the gRPC endpoint's address.</summary>
    public const string UrlKey = "Kestrel:Endpoints:Grpc:Url";

    /// <summary>The settings; every other configuration source overrides them.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> Defaults { get; } = new Dictionary<string, string?>
    {
        // Plaintext HTTP/2 (h2c) on loopback: without TLS there is no ALPN, so the endpoint must be HTTP/2 only.
        ["Kestrel:EndpointDefaults:Protocols"] = "Http2",
        [UrlKey] = DefaultUrl,
        ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
    };
}
