using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.Testing;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// Request bodies that are not a request message, sent as raw HTTP/2 to every RPC (found in the service descriptors):
/// each answers INVALID_ARGUMENT — never UNKNOWN or INTERNAL — whether the call carries a key or not, nothing is
/// logged above Debug, and the Debug entries are rate-limited (an anonymous caller cannot flood the log).
/// </summary>
public sealed class MalformedRequestTests
{
    // Each a whole request body (gRPC frames included) that is not one well-formed request message (nor, for a
    // streaming request, a sequence of them: an empty stream and two frames are well-formed there).
    private static IEnumerable<(string Name, byte[] Body, string? Encoding)> Bodies(bool streamingRequest)
    {
        if (!streamingRequest)
        {
            yield return ("an empty body", [], null);
            yield return ("two frames", [.. Frame([0x0a, 0x00]), .. Frame([0x0a, 0x00])], null);
        }

        yield return ("a body shorter than a frame header", [0, 0, 0], null);
        yield return ("a compression flag of 2", Frame([0x0a, 0x00], flag: 2), null);
        yield return ("a compression flag of 255", Frame([], flag: 255), null);
        yield return ("a compressed frame without grpc-encoding", Frame([0x0a, 0x00], flag: 1), null);
        yield return ("a compressed frame with grpc-encoding identity", Frame([0x0a, 0x00], flag: 1), "identity");
        yield return ("a length longer than the body", [0, 0, 0, 0, 10, 0x0a, 0x00], null);
        yield return ("a length of 2^32-1", [0, 0xff, 0xff, 0xff, 0xff, 0x0a], null);
        yield return ("data after the frame", [.. Frame([0x0a, 0x00]), 0x01, 0x02], null);
        yield return ("field number zero", Frame([0x00, 0x01]), null);
        yield return ("a truncated varint", Frame([0x08, 0xff, 0xff]), null);
        yield return ("a length-delimited field longer than the message", Frame([0x0a, 0x7f, 0x01]), null);
        yield return ("a varint of eleven bytes", Frame([0x08, .. Enumerable.Repeat((byte)0xff, 10), 0x01]), null);
        yield return ("an end-group tag without a start", Frame([0x0c]), null);
        yield return ("wire type 7", Frame([0x0f, 0x00]), null);
        var random = new Random(20261203);
        for (var i = 0; i < 4; i++)
        {
            var garbage = new byte[random.Next(1, 300)];
            random.NextBytes(garbage);
            yield return ($"random bytes #{i}", garbage, null);
            garbage[0] = 0x00; // field number zero: never a valid message, whatever follows
            yield return ($"a frame of random bytes #{i}", Frame(garbage), null);
            yield return ($"a gzip frame of random bytes #{i}", Frame(garbage, flag: 1), "gzip");
        }
    }

    [Fact]
    public async Task EveryRpc_GivenABodyThatIsNotItsRequest_IsInvalidArgument_WithAtMostARateLimitedDebugLog()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.Address };
        var mark = server.Logs.Mark;
        var wrong = new List<string>();
        var calls = 0;

        foreach (var method in RpcCatalog.All)
        {
            foreach (var (name, body, encoding) in Bodies(method.IsClientStreaming))
            {
                foreach (var key in new[] { TestKeys.Admin, null })
                {
                    var (code, message) = await SendAsync(http, method, body, encoding, key);
                    calls++;
                    if (code != Expected(method, key))
                    {
                        wrong.Add($"{method.FullName}, {name}, {(key is null ? "no key" : "admin key")}: {code} '{message}'");
                    }
                }
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} of {calls} calls:\n" + string.Join('\n', wrong));
        var logged = server.Logs.Since(mark);
        Assert.DoesNotContain(logged, e => e.Level > LogLevel.Debug);
        var refusals = logged.Count(e => e.EventId.Name == "BadRequestRefused");
        Assert.InRange(refusals, 1, calls / 20);
    }

    // A unary or server-streaming request is read before any interceptor runs, so its body is judged first; a client
    // stream's messages are read by the service, after authentication has refused a call without a key.
    private static StatusCode Expected(Google.Protobuf.Reflection.MethodDescriptor method, string? key) =>
        method.IsClientStreaming && key is null && !RpcCatalog.IsPublic(method) ? StatusCode.Unauthenticated : StatusCode.InvalidArgument;

    [Fact]
    public async Task EveryRpc_WhoseClientResetsTheStreamMidMessage_EndsAsCancelled_WithoutAnErrorLog()
    {
        await using var database = TestDatabase.Create("sqlite");

        // grpc-dotnet's line for each call that ends with an error status is wanted here (it is at Information,
        // below what the server logs of that category by default): it shows that every call ended, and how.
        await using var server = await StoreServer.StartAsync(database, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Grpc.AspNetCore.Server.ServerCallHandler"] = "Information",
        });
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.Address };
        var mark = server.Logs.Mark;

        foreach (var method in RpcCatalog.All)
        {
            // Three bytes of a frame header, then the client gives up: HttpClient resets the stream (RST_STREAM) while
            // the server waits for the rest of the message.
            using var reset = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var body = new StalledContent([0, 0, 0], reset.Token);
            using var request = Request(method, body, encoding: null, TestKeys.Admin);
            var send = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, reset.Token);
            await body.Sent.WaitAsync(reset.Token);
            await reset.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        }

        // Each call ends with grpc-dotnet's line for a status raised: before, a call whose message the server was
        // reading ended with an Error ("Error when executing service method") instead, Kestrel's IOException.
        var ended = new List<LogEntry>();
        for (var waited = 0; waited < 300 && ended.Count < RpcCatalog.All.Count; waited++)
        {
            await Task.Delay(100);
            ended = [.. server.Logs.Since(mark).Where(e => e.EventId.Name == "RpcConnectionError")];
        }

        Assert.True(RpcCatalog.All.Count == ended.Count, string.Join('\n', ended));
        Assert.All(ended, e => Assert.Equal(StatusCode.Cancelled, e.Fields["StatusCode"]));
        Assert.Empty(server.Logs.ErrorsSince(mark));
        var answer = await server.Authorization.CheckAsync(Requests.Check("user:olivia", "deploy", "application:storefront-web"));
        Assert.Equal(V1.Decision.Allowed, answer.Decision);
    }

    [Fact]
    public async Task GarbageToCheck_LeavesTheServerAnswering()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.Address };
        var check = RpcCatalog.All.Single(m => m.FullName == "authz.v1.AuthorizationService.Check");

        var (code, _) = await SendAsync(http, check, Frame([0x00, 0x01]), null, TestKeys.Admin);
        var answer = await server.Authorization.CheckAsync(Requests.Check("user:olivia", "deploy", "application:storefront-web"));

        Assert.Equal(StatusCode.InvalidArgument, code);
        Assert.Equal(V1.Decision.Allowed, answer.Decision);
    }

    [Fact]
    public async Task WriteSchema_OfOneHugeToken_IsInvalidArgument_WithABoundedMessage()
    {
        await using var database = TestDatabase.Create("sqlite");
        await using var server = await StoreServer.StartAsync(database);

        // The compiler's message quotes the token: unbounded, the status outgrew what a client reads (it saw UNAVAILABLE).
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Schema.WriteSchemaAsync(new V1.WriteSchemaRequest { Schema = new string('a', 300_000) }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.InRange(error.Status.Detail.Length, 1, ErrorInterceptor.MaxMessageLength + 20);
    }

    /// <summary>Posts <paramref name="body"/> to <paramref name="method"/> as HTTP/2; returns grpc-status and grpc-message.</summary>
    internal static async Task<(StatusCode Code, string Message)> SendAsync(HttpClient http, MethodDescriptor method, byte[] body, string? encoding, string? key)
    {
        using var request = Request(method, new ByteArrayContent(body), encoding, key);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (!response.Headers.TryGetValues("grpc-status", out var status))
        {
            await response.Content.CopyToAsync(Stream.Null, stop.Token);
            Assert.True(response.TrailingHeaders.TryGetValues("grpc-status", out status), "no grpc-status");
            response.TrailingHeaders.TryGetValues("grpc-message", out var trailerMessage);
            return ((StatusCode)int.Parse(status.Single(), System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(trailerMessage?.SingleOrDefault() ?? ""));
        }

        response.Headers.TryGetValues("grpc-message", out var message);
        return ((StatusCode)int.Parse(status.Single(), System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(message?.SingleOrDefault() ?? ""));
    }

    // A gRPC call of method as HTTP/2, with body as its request body.
    private static HttpRequestMessage Request(MethodDescriptor method, HttpContent body, string? encoding, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/{method.Service.FullName}/{method.Name}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = body,
        };
        body.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (encoding is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + key);
        }

        return request;
    }

    /// <summary>A gRPC frame: the compression flag, the big-endian length, the message.</summary>
    internal static byte[] Frame(byte[] message, byte flag = 0)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    // A request body that sends its first bytes, then nothing more until the call is given up.
    private sealed class StalledContent(byte[] first, CancellationToken givenUp) : HttpContent
    {
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once the first bytes are flushed to the connection.</summary>
        public Task Sent => _sent.Task;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(first, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            _sent.TrySetResult();
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, givenUp);
            await Task.Delay(Timeout.Infinite, either.Token);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
