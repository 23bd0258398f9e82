using System.Data.Common;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core.Interceptors;
using RpcStatus = Grpc.Core.Status;
using Microsoft.EntityFrameworkCore;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// The one place where exceptions become gRPC statuses, so that none escapes as UNKNOWN and none is ever read as an
/// allow. <see cref="RpcException"/> passes through unchanged; <see cref="AuthzException"/> maps by its
/// <see cref="AuthzException.Kind"/>:
/// <list type="bullet">
/// <item>InvalidArgument → INVALID_ARGUMENT (malformed, or names what the schema does not define)</item>
/// <item>NotFound → NOT_FOUND; AlreadyExists → ALREADY_EXISTS; FailedPrecondition → FAILED_PRECONDITION</item>
/// <item>DepthExceeded → FAILED_PRECONDITION: retrying cannot help until the data changes (a cycle or too deep a graph)</item>
/// <item>ResourceExhausted → RESOURCE_EXHAUSTED: the evaluation went past its budget (Authz:EvaluationBudget)</item>
/// </list>
/// Each carries a <c>google.rpc.ErrorInfo</c> detail whose reason is the kind (e.g. <c>DEPTH_EXCEEDED</c>).
/// A call the client cancelled, or whose stream it reset (an <see cref="IOException"/>), answers CANCELLED; one whose
/// deadline passed, DEADLINE_EXCEEDED; one whose evaluation the server's shutdown stopped, UNAVAILABLE (retry elsewhere). Storage failures: a conflict at commit (<see cref="DbUpdateException"/>)
/// answers ABORTED, a database that fails or times out (<see cref="DbException"/>, <see cref="TimeoutException"/>)
/// answers UNAVAILABLE; both are logged at Warning, and in both the transaction rolled back, so a retry is safe.
/// Anything else is logged at Error and answers INTERNAL with a generic message.
/// </summary>
internal sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger, IHostApplicationLifetime? lifetime = null) : Interceptor
{
    /// <summary>The <c>google.rpc.ErrorInfo</c> domain of the service's errors.</summary>
    public const string ErrorDomain = "authz.v1";

    /// <summary>
    /// The longest message a refusal carries. Messages may quote the request (a schema's offending token), and the
    /// status travels in HTTP/2 headers twice (grpc-message and the details): a client refuses headers past 64 KB and
    /// would see UNAVAILABLE instead of the refusal.
    /// </summary>
    public const int MaxMessageLength = 2_000;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Task<TResponse> task;
        try
        {
            task = continuation(request, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }

        // A call that completed synchronously (every unary call of the in-process engine) needs no state machine.
        return task.IsCompletedSuccessfully ? task : Awaited(task, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
    }

    /// <summary>The status for an exception thrown by a service method (see the class remarks).</summary>
    internal RpcException Translate(Exception exception, ServerCallContext context)
    {
        if (exception is AuthzException authz)
        {
            var (code, reason) = Map(authz.Kind);
            var message = Bounded(authz.Message);
            Log.RequestRejected(logger, context.Method, (StatusCode)code, message);
            var status = new Google.Rpc.Status
            {
                Code = (int)code,
                Message = message,
                Details = { Any.Pack(new ErrorInfo { Reason = reason, Domain = ErrorDomain }) },
            };
            return status.ToRpcException();
        }

        // An I/O failure reaching a handler is the transport's: the client reset its stream (say, after reading the
        // answer it wanted), sometimes before the call's token says so. The caller went away; that is not a fault.
        if (context.CancellationToken.IsCancellationRequested || exception is IOException)
        {
            // The caller went away (or its deadline passed) mid-call; whatever failed as a result is not a fault.
            Log.CallCancelled(logger, context.Method);
            return context.Deadline <= DateTime.UtcNow
                ? new RpcException(new RpcStatus(StatusCode.DeadlineExceeded, "the call's deadline passed before it was answered"))
                : new RpcException(new RpcStatus(StatusCode.Cancelled, "the call was cancelled"));
        }

        if (exception is OperationCanceledException && lifetime is { ApplicationStopping.IsCancellationRequested: true })
        {
            // The process is stopping (SIGTERM) and stopped the evaluation rather than wait for it; nothing changed.
            Log.CallCancelled(logger, context.Method);
            return new RpcException(new RpcStatus(StatusCode.Unavailable, "the server is shutting down: retry (another replica will answer)"));
        }

        if (exception is DbUpdateException)
        {
            // A constraint or concurrency failure at commit: the transaction rolled back whole, so a retry is safe.
            Log.WriteConflict(logger, context.Method, exception);
            return new RpcException(new RpcStatus(
                StatusCode.Aborted, "the write conflicted with a concurrent change and was rolled back; nothing changed: retry it"));
        }

        if (IsStorageFailure(exception))
        {
            // The database is down, busy past its timeout, out of connections or unreachable: nothing was committed.
            // EF Core and the connection pool wrap the provider's error, so the whole chain is looked at.
            Log.StorageUnavailable(logger, context.Method, exception);
            return new RpcException(new RpcStatus(
                StatusCode.Unavailable, "the storage did not answer; nothing changed: retry later (the server log has the details)"));
        }

        Log.UnexpectedError(logger, context.Method, exception);
        return new RpcException(new RpcStatus(StatusCode.Internal, "internal error: the server log has the details"));
    }

    private static string Bounded(string message) =>
        message.Length <= MaxMessageLength ? message : string.Concat(message.AsSpan(0, MaxMessageLength), "... (truncated)");

    private static bool IsStorageFailure(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is DbException or TimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    // Unknown kinds (added to Core later and not mapped here yet) fail closed as INTERNAL.
    private static (Code Code, string Reason) Map(AuthzErrorKind kind) => kind switch
    {
        AuthzErrorKind.InvalidArgument => (Code.InvalidArgument, "INVALID_ARGUMENT"),
        AuthzErrorKind.NotFound => (Code.NotFound, "NOT_FOUND"),
        AuthzErrorKind.AlreadyExists => (Code.AlreadyExists, "ALREADY_EXISTS"),
        AuthzErrorKind.FailedPrecondition => (Code.FailedPrecondition, "FAILED_PRECONDITION"),
        AuthzErrorKind.PermissionDenied => (Code.PermissionDenied, "PERMISSION_DENIED"),
        AuthzErrorKind.DepthExceeded => (Code.FailedPrecondition, "DEPTH_EXCEEDED"),
        AuthzErrorKind.ResourceExhausted => (Code.ResourceExhausted, "RESOURCE_EXHAUSTED"),
        AuthzErrorKind.Unimplemented => (Code.Unimplemented, "UNIMPLEMENTED"),
        _ => (Code.Internal, "INTERNAL"),
    };

    private async Task<TResponse> Awaited<TResponse>(Task<TResponse> task, ServerCallContext context)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e, context);
        }
    }
}
