using Grpc.Core;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>A call context for calling service code directly, without a server (as grpc-dotnet's Tester example).</summary>
public sealed class TestServerCallContext(string method, CancellationToken cancellationToken = default) : ServerCallContext
{
    private readonly Metadata _requestHeaders = [];
    private readonly Metadata _responseTrailers = [];

    protected override string MethodCore => method;

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:12345";

    /// <summary>The call's deadline (UTC); none by default.</summary>
    public DateTime DeadlineAt { get; init; } = DateTime.MaxValue;

    protected override DateTime DeadlineCore => DeadlineAt;

    protected override Metadata RequestHeadersCore => _requestHeaders;

    protected override CancellationToken CancellationTokenCore => cancellationToken;

    protected override Metadata ResponseTrailersCore => _responseTrailers;

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
