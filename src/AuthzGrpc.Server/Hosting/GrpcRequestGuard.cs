using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http.Features;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// What a gRPC call must be before grpc-dotnet handles it, checked as ASP.NET Core middleware (after routing, before
/// the endpoint):
/// <list type="bullet">
/// <item>Its path, as sent, is exactly the method's name as declared (<c>/authz.v1.AuthorizationService/Check</c>):
/// routing matches without regard to case, decodes percent-encoded letters and ignores a trailing slash, so
/// <c>/authz.v1.authorizationservice/WATCH/</c> would reach Watch; such a path answers UNIMPLEMENTED, as grpc-go does,
/// and nothing runs. (The key-kind policy is decided on the resolved method as well: see
/// <c>AuthenticationInterceptor</c>.)</item>
/// <item>The body is well-formed gRPC frames: each with a compression flag of 0 or 1 (1 only with a grpc-encoding),
/// a length the body holds; a single request message (unary and server-streaming methods) is exactly one frame,
/// nothing after it. grpc-dotnet answers UNKNOWN or INTERNAL for these, and logs an error with a stack trace,
/// before any interceptor runs; here they are INVALID_ARGUMENT.</item>
/// </list>
/// On a check replica (<see cref="AuthzOptions.Role"/> <c>check</c>), a method other than Check, BatchCheck, health and
/// reflection answers UNIMPLEMENTED, naming the role, before authentication: it needs the whole model, which such a
/// replica does not hold, or writes, which it never does; the answer tells a caller nothing but the replica's role.
/// Given a full replica's address (<see cref="AuthzOptions.FullReplicaAddress"/>), the other reads of AuthorizationService
/// (Explain, the lookups, Watch, WhoAmI) pass too, to be authenticated here and forwarded there
/// (<see cref="Grpc.FullReplicaForwarder"/>); writes and every other service still answer UNIMPLEMENTED.
/// A body whose frame is sound but whose bytes are not the request message is mapped by
/// <see cref="ParseCheckedServiceMethodProvider{TService}"/>. Refusals are logged at Debug, rate-limited
/// (<see cref="BadRequestLog"/>): anyone can send them.
/// </summary>
internal sealed class GrpcRequestGuard(BadRequestLog log, IServiceProvider services)
{
    // The methods a check replica serves: decided on the method routing resolved, after its spelling is checked.
    private static readonly HashSet<string> CheckReplicaMethods = new(StringComparer.Ordinal)
    {
        "/" + V1.AuthorizationService.Descriptor.FullName + "/" + nameof(V1.AuthorizationService.AuthorizationServiceBase.Check),
        "/" + V1.AuthorizationService.Descriptor.FullName + "/" + nameof(V1.AuthorizationService.AuthorizationServiceBase.BatchCheck),
    };

    // What a check replica given a full replica's address (Authz:FullReplicaAddress) forwards there, also decided on the
    // method routing resolved: the reads of AuthorizationService a full replica serves. Writes never are.
    private static readonly HashSet<string> ForwardedMethods = new(StringComparer.Ordinal)
    {
        "/" + V1.AuthorizationService.Descriptor.FullName + "/" + nameof(V1.AuthorizationService.AuthorizationServiceBase.Explain),
        "/" + V1.AuthorizationService.Descriptor.FullName + "/" + nameof(V1.AuthorizationService.AuthorizationServiceBase.LookupResources),
        "/" + V1.AuthorizationService.Descriptor.FullName + "/" + nameof(V1.AuthorizationService.AuthorizationServiceBase.LookupSubjects),
        "/" + V1.AuthorizationService.Descriptor.FullName + "/" + nameof(V1.AuthorizationService.AuthorizationServiceBase.Watch),
        "/" + V1.AuthorizationService.Descriptor.FullName + "/" + nameof(V1.AuthorizationService.AuthorizationServiceBase.WhoAmI),
    };

    private readonly bool _checkReplica = AuthzServerExtensions.IsCheckReplica(services);
    private readonly bool _forwarding = AuthzServerExtensions.IsCheckReplica(services) && services.GetRequiredService<Grpc.FullReplicaForwarder>().Enabled;

    /// <summary>The middleware: checks the call, then hands it to the next step unless it was refused.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method;
        if (method is null)
        {
            // Not a gRPC method: grpc-dotnet's own unimplemented endpoints, the metrics listener, anything else.
            return next(context);
        }

        // The path as sent (Request.Path is percent-decoded: /%53erverReflectionInfo would pass as ServerReflectionInfo).
        var sent = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (!string.Equals(sent, method.FullName, StringComparison.Ordinal))
        {
            log.Refused(method.FullName, "the path is not the method's name as declared");
            return Refuse(context, StatusCode.Unimplemented, $"unknown method {Shown(sent)}: method names are case-sensitive (did you mean {method.FullName}?)");
        }

        if (_checkReplica && !ServedByCheckReplica(method.FullName))
        {
            log.Refused(method.FullName, "a check replica does not serve it");
            return Refuse(
                context, StatusCode.Unimplemented,
                _forwarding
                    ? $"{method.FullName} is not served by a {Checks.DatabaseCheckDispatcher.RoleName}, which answers Check and BatchCheck and forwards the other reads of AuthorizationService: call a full replica"
                    : $"{method.FullName} is not served by a {Checks.DatabaseCheckDispatcher.RoleName}, which answers Check and BatchCheck only: call a full replica");
        }

        var body = context.Features.Get<IRequestBodyPipeFeature>();
        if (body is not null)
        {
            var single = method.Type is MethodType.Unary or MethodType.ServerStreaming;
            context.Features.Set<IRequestBodyPipeFeature>(new CheckedBody(
                new FrameCheckingReader(body.Reader, method.FullName, single, NamesEncoding(context.Request), log)));
        }

        return next(context);
    }

    private bool ServedByCheckReplica(string method) =>
        CheckReplicaMethods.Contains(method) || Authentication.AuthenticationInterceptor.IsPublic(method) || (_forwarding && ForwardedMethods.Contains(method));

    // A path quoted in a refusal: a long one is cut, so the answer's headers stay within what a client accepts.
    private static string? Shown(string? path) => path is { Length: > 200 } ? path[..200] + "…" : path;

    // Whether the call names a compression a compressed frame can be read with ('identity' is none).
    private static bool NamesEncoding(HttpRequest request)
    {
        var encoding = request.Headers["grpc-encoding"].ToString();
        return encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.Ordinal);
    }

    /// <summary>Answers <paramref name="code"/> as a trailers-only gRPC response (the status in the headers).</summary>
    internal static Task Refuse(HttpContext context, StatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }

    private sealed class CheckedBody(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    /// <summary>
    /// Passes the body through unchanged and unbuffered, refusing with INVALID_ARGUMENT as soon as what has arrived
    /// cannot be gRPC frames: a bad compression flag, a compressed frame without a <c>grpc-encoding</c>, a body that
    /// ends inside a frame; for a single request (<paramref name="single"/>), an empty body or one that goes on after
    /// its frame. grpc-dotnet reads one frame at a time from the start of what is unconsumed, so the frame checked is
    /// always the one it reads next.
    /// </summary>
    private sealed class FrameCheckingReader(PipeReader inner, string method, bool single, bool hasEncoding, BadRequestLog log) : PipeReader
    {
        private const int HeaderSize = 5;

        private SequencePosition _start;
        private bool _consumed;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            ReadResult result;
            try
            {
                result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw ClientGone(e);
            }

            Check(result);
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            try
            {
                if (!inner.TryRead(out result))
                {
                    return false;
                }
            }
            catch (IOException e)
            {
                throw ClientGone(e);
            }

            Check(result);
            return true;
        }

        // Kestrel reports a client that reset its stream as an IOException, which grpc-dotnet would log as a server
        // error (grpc-dotnet #2466); it is the client cancelling, and is logged as such.
        private static RpcException ClientGone(IOException e) =>
            new(new Status(StatusCode.Cancelled, "the client reset the request stream", e));

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            // grpc-dotnet consumes nothing until the whole message has arrived, then consumes the message.
            _consumed |= !consumed.Equals(_start);
            try
            {
                inner.AdvanceTo(consumed, examined);
            }
            catch (IOException e)
            {
                // Kestrel also reports the reset here when it lands between the read and the advance (RequestFuzzTests
                // met it on Watch): the same client cancelling.
                throw ClientGone(e);
            }
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private void Check(ReadResult result)
        {
            var buffer = result.Buffer;
            _start = buffer.Start;
            if (result.IsCanceled)
            {
                return;
            }

            var problem = _consumed && single ? After(buffer) : Frame(buffer, result.IsCompleted);
            if (problem is not null)
            {
                // Nothing more is read: release what was read, so the pipe is left consistent.
                inner.AdvanceTo(buffer.End);
                log.Refused(method, problem);
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request body is not one gRPC message: {problem}"));
            }
        }

        private static string? After(ReadOnlySequence<byte> buffer) =>
            buffer.IsEmpty ? null : "data follows the message (one request message is expected)";

        private string? Frame(ReadOnlySequence<byte> buffer, bool complete)
        {
            if (buffer.IsEmpty)
            {
                // A stream of requests may end with no message; a single request may not.
                return complete && single && !_consumed ? "the body is empty" : null;
            }

            if (buffer.Length < HeaderSize)
            {
                return complete ? "the body ends inside a message header" : null;
            }

            Span<byte> header = stackalloc byte[HeaderSize];
            buffer.Slice(0, HeaderSize).CopyTo(header);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
            if (header[0] > 1)
            {
                return $"the compression flag is {header[0]} (0 or 1 expected)";
            }

            if (header[0] == 1 && !hasEncoding)
            {
                return "the message is marked compressed but the call names no grpc-encoding";
            }

            if (length > int.MaxValue)
            {
                return "the message length is out of range";
            }

            if (complete && buffer.Length < HeaderSize + (long)length)
            {
                return "the body ends before the message does";
            }

            if (complete && single && buffer.Length > HeaderSize + (long)length)
            {
                return "data follows the message (one request message is expected)";
            }

            return null;
        }
    }
}
