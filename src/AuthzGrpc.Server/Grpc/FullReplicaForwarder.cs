using System.Diagnostics;
using System.Diagnostics.Metrics;
using AuthzGrpc.Server.Authentication;
using AuthzGrpc.Server.Hosting;
using AuthzGrpc.V1;
using Grpc.AspNetCore.Server;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// On a check replica with <see cref="AuthzOptions.FullReplicaAddress"/>: sends the AuthorizationService calls that need
/// the whole model to the full replica there, whole, and relays its answer. The caller has already been authenticated
/// here; the call carries only its <c>authorization</c> header (the full replica authenticates and authorizes it again,
/// as if called directly), its deadline and its cancellation: nothing else of the caller's is trusted or passed on. It
/// is marked forwarded (<see cref="ForwardedHeader"/>), and a marked call is never forwarded again.
/// <para>
/// Failures never become an answer: the full replica unreachable, failing (UNKNOWN, INTERNAL, DATA_LOSS) or cancelling
/// a call the caller did not cancel answers UNAVAILABLE naming the address; DEADLINE_EXCEEDED stays so; the full
/// replica's refusals (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED, FAILED_PRECONDITION, ...) pass
/// through with their details. Failures are logged at Warning, at most once a second.
/// </para>
/// One channel for the process (HTTP/2 connections are multiplexed and kept), created on first use; without the
/// setting, <see cref="Enabled"/> is false and nothing is created. Each forwarded call is counted on the server's meter:
/// <c>authz.forward.calls</c> ({call}; tags <c>method</c>, the gRPC method's name, and <c>outcome</c>: <c>ok</c>,
/// <c>refused</c> (the full replica's own answer, passed through), <c>unavailable</c>, <c>deadline_exceeded</c>,
/// <c>cancelled</c>).
/// </summary>
internal sealed class FullReplicaForwarder : IDisposable
{
    /// <summary>How long opening a connection to the full replica may take before the call answers UNAVAILABLE.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The header a forwarded call carries, the one thing this server adds to it. A check replica never forwards a call
    /// that has it: a full replica address that names a check replica (or two check replicas naming each other) is
    /// refused at once, where the call would otherwise go from one to the next until its deadline. A caller sending it
    /// only has its own call refused.
    /// </summary>
    public const string ForwardedHeader = "authz-forwarded";

    // The one trailer relayed with a passed-through refusal: its google.rpc.Status (the ErrorInfo reason).
    private const string StatusDetailsTrailer = "grpc-status-details-bin";

    private readonly AuthorizationService.AuthorizationServiceClient? _client;
    private readonly GrpcChannel? _channel;
    private readonly ILogger<FullReplicaForwarder> _logger;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly Counter<long>? _calls;
    private long _nextWarning;
    private long _skippedWarnings;

    public FullReplicaForwarder(
        IConfiguration configuration,
        IOptions<AuthzOptions> options,
        IOptions<GrpcServiceOptions> grpc,
        IHostApplicationLifetime lifetime,
        IMeterFactory meterFactory,
        ILogger<FullReplicaForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _logger = logger;
        _lifetime = lifetime;
        var address = options.Value.FullReplicaAddress;
        // Options validation has refused the setting on a full replica; checked again so a full replica never forwards.
        if (string.IsNullOrWhiteSpace(address) || !AuthzOptions.NamesCheckReplica(configuration[AuthzOptions.RoleKey]))
        {
            return;
        }

        Address = new Uri(address, UriKind.Absolute);
        var limits = grpc.Value;
        _channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = ConnectTimeout,
                EnableMultipleHttp2Connections = true,
                // A forwarded Watch may stay open for hours: pings find a full replica that went away without closing.
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                // Nothing of the caller's travels but its key: not even the trace context (traceparent, baggage) that
                // HttpClient would otherwise derive from the incoming request's.
                ActivityHeadersPropagator = null,
            },
            // The server's own limits: what it accepted from the caller it can send on, what it may send the caller it
            // accepts from the full replica (the same server's limits there).
            MaxSendMessageSize = limits.MaxReceiveMessageSize,
            MaxReceiveMessageSize = limits.MaxSendMessageSize,
            // A retry is the caller's decision, with its own deadline.
            MaxRetryAttempts = 0,
        });
        _client = new AuthorizationService.AuthorizationServiceClient(_channel);
        _calls = meterFactory.Create(AuthzMetrics.MeterName).CreateCounter<long>(
            "authz.forward.calls", "{call}", "Calls this check replica forwarded to its full replica, by method and outcome.");
        Log.ForwardingToFullReplica(logger, Address);
    }

    /// <summary>Whether calls are forwarded: a check replica given <see cref="AuthzOptions.FullReplicaAddress"/>.</summary>
    public bool Enabled => _client is not null;

    /// <summary>The full replica's address (null when not <see cref="Enabled"/>).</summary>
    public Uri? Address { get; }

    private AuthorizationService.AuthorizationServiceClient Client =>
        _client ?? throw new InvalidOperationException("no full replica is configured (Authz:FullReplicaAddress)");

    public Task<CheckResponse> CheckAsync(CheckRequest request, ServerCallContext context) =>
        UnaryAsync(context, "Check", options => Client.CheckAsync(request, options).ResponseAsync);

    public Task<BatchCheckResponse> BatchCheckAsync(BatchCheckRequest request, ServerCallContext context) =>
        UnaryAsync(context, "BatchCheck", options => Client.BatchCheckAsync(request, options).ResponseAsync);

    public Task<ExplainResponse> ExplainAsync(ExplainRequest request, ServerCallContext context) =>
        UnaryAsync(context, "Explain", options => Client.ExplainAsync(request, options).ResponseAsync);

    public Task<WhoAmIResponse> WhoAmIAsync(WhoAmIRequest request, ServerCallContext context) =>
        UnaryAsync(context, "WhoAmI", options => Client.WhoAmIAsync(request, options).ResponseAsync);

    public Task LookupResourcesAsync(LookupResourcesRequest request, IServerStreamWriter<LookupResourcesResponse> responses, ServerCallContext context) =>
        StreamAsync(context, "LookupResources", options => Client.LookupResources(request, options), responses, endsWhenStopping: false);

    public Task LookupSubjectsAsync(LookupSubjectsRequest request, IServerStreamWriter<LookupSubjectsResponse> responses, ServerCallContext context) =>
        StreamAsync(context, "LookupSubjects", options => Client.LookupSubjects(request, options), responses, endsWhenStopping: false);

    /// <summary>
    /// Relays the full replica's Watch until the caller cancels, the full replica ends it, or this server stops: then it
    /// ends without an error, as a Watch served here does, and the caller resumes from the last revision it received.
    /// </summary>
    public Task WatchAsync(WatchRequest request, IServerStreamWriter<WatchResponse> responses, ServerCallContext context) =>
        StreamAsync(context, "Watch", options => Client.Watch(request, options), responses, endsWhenStopping: true);

    public void Dispose() => _channel?.Dispose();

    private async Task<TResponse> UnaryAsync<TResponse>(ServerCallContext context, string method, Func<CallOptions, Task<TResponse>> call)
    {
        RefuseSecondHop(context, method);
        try
        {
            var response = await call(Options(context)).ConfigureAwait(false);
            Count(method, StatusCode.OK);
            return response;
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.CancellationToken.IsCancellationRequested)
        {
            throw Counted(method, Relayed(e, context, method));
        }
        catch (OperationCanceledException)
        {
            Count(method, StatusCode.Cancelled);
            throw;
        }
    }

    // A lookup is never cut short by a shutdown (an ended stream would read as the whole answer): the host waits for it.
    private async Task StreamAsync<TResponse>(
        ServerCallContext context,
        string method,
        Func<CallOptions, AsyncServerStreamingCall<TResponse>> call,
        IServerStreamWriter<TResponse> responses,
        bool endsWhenStopping)
    {
        RefuseSecondHop(context, method);
        using var stopping = endsWhenStopping ? CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _lifetime.ApplicationStopping) : null;
        var cancellationToken = stopping?.Token ?? context.CancellationToken;

        // A write that fails is the caller's stream failing, not the full replica: it is not relayed as the latter's.
        var writing = false;
        try
        {
            using var stream = call(Options(context, cancellationToken));

            // The full replica's headers say the stream has started (a Watch's position is fixed from then on): the
            // caller gets its own as soon as they arrive, not with the first message.
            await stream.ResponseHeadersAsync.ConfigureAwait(false);
            await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
            while (await stream.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                writing = true;
                await responses.WriteAsync(stream.ResponseStream.Current, context.CancellationToken).ConfigureAwait(false);
                writing = false;
            }

            Count(method, StatusCode.OK);
        }
        catch (Exception) when (endsWhenStopping && _lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // This server stops: the stream ends cleanly, as one served here would.
            Count(method, StatusCode.OK);
        }
        catch (Exception e) when (!writing && (e is not OperationCanceledException || !context.CancellationToken.IsCancellationRequested))
        {
            throw Counted(method, Relayed(e, context, method));
        }
        catch (Exception)
        {
            // The caller went away, or its stream failed under a write: the call ends there.
            Count(method, StatusCode.Cancelled);
            throw;
        }
    }

    private RpcException Counted(string method, RpcException relayed)
    {
        Count(method, relayed.StatusCode);
        return relayed;
    }

    private void Count(string method, StatusCode code) =>
        _calls?.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("outcome", code switch
        {
            StatusCode.OK => "ok",
            StatusCode.Unavailable => "unavailable",
            StatusCode.DeadlineExceeded => "deadline_exceeded",
            StatusCode.Cancelled => "cancelled",
            _ => "refused",
        }));

    // The caller's authorization header (authenticated here already), deadline and cancellation, and the forwarded mark.
    private static CallOptions Options(ServerCallContext context) => Options(context, context.CancellationToken);

    private static CallOptions Options(ServerCallContext context, CancellationToken cancellationToken)
    {
        var headers = new Metadata { { ForwardedHeader, "1" } };
        if (context.RequestHeaders.GetValue(AuthenticationInterceptor.Header) is { } authorization)
        {
            headers.Add(AuthenticationInterceptor.Header, authorization);
        }

        return new CallOptions(headers, context.Deadline, cancellationToken);
    }

    // A call another check replica forwarded here: this one is not the full replica its address was meant to name.
    private void RefuseSecondHop(ServerCallContext context, string method)
    {
        if (context.GetHttpContext().Request.Headers.ContainsKey(ForwardedHeader))
        {
            Count(method, StatusCode.FailedPrecondition);
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition,
                $"{method} was forwarded to this check replica by another: a check replica's Authz:FullReplicaAddress must name a full replica (Authz:Role=full), never a check replica"));
        }
    }

    // What the caller is answered for a failed forward (see the class remarks).
    private RpcException Relayed(Exception exception, ServerCallContext context, string method)
    {
        var status = exception is RpcException rpc ? rpc.Status : new Status(StatusCode.Unavailable, exception.Message, exception);
        // The call's deadline is the caller's, on the wall clock (as grpc-dotnet sets it), whatever clock the server runs on.
        if (context.Deadline <= DateTime.UtcNow)
        {
            return new RpcException(new Status(StatusCode.DeadlineExceeded, $"the call's deadline passed before the full replica at {Address} answered"));
        }

        if (context.CancellationToken.IsCancellationRequested)
        {
            // The caller went away: it is not waiting for an answer, and nothing failed.
            return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
        }

        switch (status.StatusCode)
        {
            case StatusCode.Unavailable or StatusCode.Unknown or StatusCode.Internal or StatusCode.DataLoss or StatusCode.Cancelled or StatusCode.OK:
                Warn(method, status);
                return new RpcException(new Status(
                    StatusCode.Unavailable,
                    $"this check replica forwards {method} to the full replica at {Address}, which did not answer it ({status.StatusCode}: {status.Detail}): retry later"));
            default:
                // The full replica's answer to the call itself: relayed as it gave it, with its error details.
                var trailers = new Metadata();
                if (exception is RpcException { Trailers: { } received } && received.Get(StatusDetailsTrailer) is { IsBinary: true } details)
                {
                    trailers.Add(StatusDetailsTrailer, details.ValueBytes);
                }

                return new RpcException(new Status(status.StatusCode, status.Detail), trailers);
        }
    }

    // At most one warning a second, carrying how many were left out: a full replica down fails every forwarded call.
    private void Warn(string method, Status status)
    {
        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        var next = Interlocked.Read(ref _nextWarning);
        if (now < next || Interlocked.CompareExchange(ref _nextWarning, now + Stopwatch.Frequency, next) != next)
        {
            Interlocked.Increment(ref _skippedWarnings);
            return;
        }

        Log.FullReplicaUnavailable(_logger, method, Address, status.StatusCode, status.Detail, Interlocked.Exchange(ref _skippedWarnings, 0), status.DebugException);
    }
}
