using AuthzGrpc.Core;
using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Tests.Infrastructure;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using RpcStatus = Grpc.Core.Status;

namespace AuthzGrpc.Server.Tests;

/// <summary>The one place exceptions become statuses, called directly with a test call context.</summary>
public sealed class ErrorInterceptorTests : IDisposable
{
    private const string Method = "/authz.v1.AuthorizationService/Check";
    private readonly LogCapture _logs = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly ErrorInterceptor _interceptor;

    public ErrorInterceptorTests()
    {
        _loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Debug).AddProvider(_logs));
        _interceptor = new ErrorInterceptor(_loggerFactory.CreateLogger<ErrorInterceptor>());
    }

    [Theory]
    [InlineData(AuthzErrorKind.InvalidArgument, StatusCode.InvalidArgument, "INVALID_ARGUMENT")]
    [InlineData(AuthzErrorKind.NotFound, StatusCode.NotFound, "NOT_FOUND")]
    [InlineData(AuthzErrorKind.AlreadyExists, StatusCode.AlreadyExists, "ALREADY_EXISTS")]
    [InlineData(AuthzErrorKind.FailedPrecondition, StatusCode.FailedPrecondition, "FAILED_PRECONDITION")]
    [InlineData(AuthzErrorKind.DepthExceeded, StatusCode.FailedPrecondition, "DEPTH_EXCEEDED")]
    [InlineData(AuthzErrorKind.ResourceExhausted, StatusCode.ResourceExhausted, "RESOURCE_EXHAUSTED")]
    public async Task UnaryCall_ThrowingAuthzException_MapsToItsStatus(AuthzErrorKind kind, StatusCode expected, string reason)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method), (_, _) => throw new AuthzException(kind, "what to fix")));

        Assert.Equal(expected, error.StatusCode);
        Assert.Equal("what to fix", error.Status.Detail);
        var info = error.GetRpcStatus()?.GetDetail<ErrorInfo>();
        Assert.Equal(reason, info?.Reason);
        Assert.Equal(ErrorInterceptor.ErrorDomain, info?.Domain);
        Assert.Empty(_logs.ErrorsSince(0));
    }

    [Fact]
    public async Task UnaryCall_FailingAsynchronously_IsMappedToo()
    {
        static async Task<string> Fail()
        {
            await Task.Yield();
            throw new AuthzException(AuthzErrorKind.NotFound, "gone");
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method), (_, _) => Fail()));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task UnaryCall_UnexpectedException_IsInternalWithAGenericMessageAndLogged()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method), (_, _) => throw new InvalidOperationException("secret internals")));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.DoesNotContain("secret", error.Status.Detail, StringComparison.Ordinal);
        var logged = Assert.Single(_logs.ErrorsSince(0));
        Assert.Equal("UnexpectedError", logged.EventId.Name);
        Assert.IsType<InvalidOperationException>(logged.Exception);
    }

    [Fact]
    public async Task UnaryCall_WriteConflictAtCommit_IsAbortedAndRetryable()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method),
            (_, _) => throw new Microsoft.EntityFrameworkCore.DbUpdateException("UNIQUE constraint failed: relationships")));

        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Contains("retry", error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("UNIQUE", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_logs.ErrorsSince(0));
        Assert.Contains(_logs.Since(0), e => e.EventId.Name == "WriteConflict");
    }

    [Fact]
    public async Task UnaryCall_DatabaseFailure_IsUnavailable()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method),
            (_, _) => throw new Microsoft.Data.Sqlite.SqliteException("database is locked", 5)));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.DoesNotContain("locked", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_logs.ErrorsSince(0));
        Assert.Contains(_logs.Since(0), e => e.EventId.Name == "StorageUnavailable");
    }

    [Fact]
    public async Task UnaryCall_DatabaseFailureWrappedByTheDataLayer_IsUnavailable()
    {
        // EF Core reports a pool or connection failure as InvalidOperationException around the provider's exception.
        var wrapped = new InvalidOperationException("An exception has been raised that is likely due to a transient failure.",
            new Microsoft.Data.Sqlite.SqliteException("too many connections", 5));

        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method), (_, _) => throw wrapped));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Empty(_logs.ErrorsSince(0));
    }

    [Fact]
    public async Task StreamingCall_UnexpectedException_IsInternal()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.ServerStreamingServerHandler<string, string>(
            "request", null!, new TestServerCallContext(Method), (_, _, _) => throw new KeyNotFoundException()));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task Call_CancelledByTheClient_IsCancelledAndNotLoggedAsError()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method, cancellation.Token), (_, _) => throw new OperationCanceledException()));

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Empty(_logs.ErrorsSince(0));
    }

    [Fact]
    public async Task Call_WhoseDeadlinePassed_IsDeadlineExceededAndNotLoggedAsError()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        var context = new TestServerCallContext(Method, cancellation.Token) { DeadlineAt = DateTime.UtcNow.AddSeconds(-1) };

        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", context, (_, _) => throw new OperationCanceledException(cancellation.Token)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Empty(_logs.ErrorsSince(0));
    }

    [Fact]
    public async Task Call_StoppedByTheServersShutdown_IsUnavailableAndNotLoggedAsError()
    {
        using var lifetime = new StoppingLifetime();
        var interceptor = new ErrorInterceptor(_loggerFactory.CreateLogger<ErrorInterceptor>(), lifetime);
        lifetime.StopApplication();

        var error = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method), (_, _) => throw new OperationCanceledException(lifetime.ApplicationStopping)));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("shutting down", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_logs.ErrorsSince(0));
    }

    [Fact]
    public async Task StreamingCall_ClientResetTheStream_IsCancelledAndNotLoggedAsError()
    {
        // Kestrel reports a client's RST_STREAM as an IOException from the request stream, at times before the call's
        // token is cancelled (a reflection client that stops after its first answer did this in CI).
        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.DuplexStreamingServerHandler<string, string>(
            null!, null!, new TestServerCallContext(Method), (_, _, _) => throw new IOException("The client reset the request stream.")));

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Empty(_logs.ErrorsSince(0));
    }

    [Fact]
    public async Task Call_ThrowingRpcException_PassesItThrough()
    {
        var thrown = new RpcException(new RpcStatus(StatusCode.PermissionDenied, "no"));

        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<string, string>(
            "request", new TestServerCallContext(Method), (_, _) => throw thrown));

        Assert.Same(thrown, error);
    }

    /// <inheritdoc/>
    public void Dispose() => _loggerFactory.Dispose();
}

/// <summary>The host's lifetime reduced to its stopping signal, for the interceptor's shutdown mapping.</summary>
internal sealed class StoppingLifetime : Microsoft.Extensions.Hosting.IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();
}
