using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace AuthzGrpc.LoadTest;

/// <summary>
/// The gRPC wire format of a unary message over HTTP/2: a 5-byte prefix (a compression flag, then the message length
/// as a big-endian 32-bit integer) followed by the serialized message. h2load sends a body file as is, so its Check
/// body is built here.
/// </summary>
internal static class GrpcFrame
{
    /// <summary>The prefix: 1 byte compressed-flag, 4 bytes length.</summary>
    public const int PrefixLength = 5;

    /// <summary>The uncompressed frame of <paramref name="message"/>.</summary>
    public static byte[] Encode(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var length = message.CalculateSize();
        var frame = new byte[PrefixLength + length];
        frame[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)length);
        message.WriteTo(frame.AsSpan(PrefixLength));
        return frame;
    }

    /// <summary>
    /// The message of a body holding exactly one uncompressed frame; <paramref name="error"/> says what is wrong with
    /// any other body.
    /// </summary>
    public static T? Decode<T>(ReadOnlySpan<byte> body, MessageParser<T> parser, out string? error)
        where T : class, IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        if (body.Length < PrefixLength)
        {
            error = $"the body has {body.Length} bytes, fewer than a frame's {PrefixLength}-byte prefix";
            return null;
        }

        if (body[0] != 0)
        {
            error = "the frame is compressed; the harness sends and expects uncompressed messages";
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(body.Slice(1, 4));
        if (length != body.Length - PrefixLength)
        {
            error = $"the frame says {length} message bytes but {body.Length - PrefixLength} follow the prefix";
            return null;
        }

        try
        {
            error = null;
            return parser.ParseFrom(body[PrefixLength..]);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = "the message does not parse: " + e.Message;
            return null;
        }
    }
}

/// <summary>What a raw gRPC call got back: the HTTP status, the gRPC status from the trailers, and the body as sent.</summary>
/// <param name="HttpStatus">The HTTP status (200 for every gRPC answer, failed ones included).</param>
/// <param name="GrpcStatus">The <c>grpc-status</c> (0 is OK); null when the server sent none.</param>
/// <param name="GrpcMessage">The <c>grpc-message</c>, if any.</param>
/// <param name="Body">The response body: one frame for a successful unary call, empty for a failed one.</param>
internal sealed record RawGrpcResponse(int HttpStatus, int? GrpcStatus, string? GrpcMessage, byte[] Body);

/// <summary>
/// Unary gRPC calls made byte for byte with <see cref="HttpClient"/> over HTTP/2 prior knowledge (h2c), the way h2load
/// makes them, so the harness can verify the exact body h2load will send and read health without a health client.
/// </summary>
internal static class RawGrpc
{
    /// <summary>An HTTP/2-only client for loopback h2c.</summary>
    public static HttpClient CreateClient() => new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>POSTs <paramref name="body"/> to <paramref name="method"/> (e.g. <c>/authz.v1.AuthorizationService/Check</c>) with the headers h2load sends.</summary>
    public static async Task<RawGrpcResponse> CallAsync(HttpClient http, Uri target, string method, byte[] body, string? token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target, method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);

        // A failed call may answer trailers-only: then grpc-status comes in the headers.
        var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        var message = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");
        int? grpcStatus = int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;
        return new RawGrpcResponse((int)response.StatusCode, grpcStatus, message, bytes);
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
