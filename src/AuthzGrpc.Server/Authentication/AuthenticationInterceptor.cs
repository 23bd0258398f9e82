using Grpc.AspNetCore.Server;
using Grpc.Core.Interceptors;

namespace AuthzGrpc.Server.Authentication;

/// <summary>
/// Authenticates every call except health and reflection: the call must carry <c>authorization: Bearer azk_...</c>
/// metadata with a valid API key (else UNAUTHENTICATED, saying what to send), and the key's kind must allow the
/// service (else PERMISSION_DENIED, see <see cref="ApiKeyPolicy"/>). The caller is then stored on the call
/// (<see cref="CallerExtensions.GetCaller"/>). It runs inside the <c>ErrorInterceptor</c>: its refusals are
/// <see cref="RpcException"/>s, which pass through unchanged, and a database failure while reading a key is mapped
/// like any other (UNAVAILABLE). Neither the key nor the header is ever logged; a refusal is logged at Debug with the
/// method and the reason (at most the key id).
/// <para>
/// Every decision — public or not, which key kinds may call — is taken on the method routing resolved (the endpoint's
/// <see cref="GrpcMethodMetadata"/>, the name as declared), never on the request's path: routing matches paths
/// without regard to case, so the path <c>/authz.v1.AuthorizationService/watch</c> reaches Watch. (Such paths are
/// refused before this by <c>GrpcRequestGuard</c>; deciding on the resolved method holds even without it.)
/// </para>
/// </summary>
internal sealed class AuthenticationInterceptor(ApiKeyAuthenticator authenticator, ILogger<AuthenticationInterceptor> logger) : Interceptor
{
    /// <summary>The metadata key carrying the credentials.</summary>
    public const string Header = "authorization";

    private const string Scheme = "Bearer ";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var authentication = AuthenticateAsync(context);

        // A cached key authenticates synchronously: the call goes on without a state machine.
        return authentication.IsCompletedSuccessfully ? continuation(request, context) : Unary(authentication, request, context, continuation);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }

    /// <summary>
    /// Health and reflection answer without credentials (probes and tools such as grpcurl); <paramref name="method"/>
    /// is a resolved method's full name (<see cref="ResolvedMethod"/>), compared exactly.
    /// </summary>
    internal static bool IsPublic(string method) =>
        method.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal) ||
        method.StartsWith("/grpc.reflection.v1alpha.ServerReflection/", StringComparison.Ordinal) ||
        method.StartsWith("/grpc.reflection.v1.ServerReflection/", StringComparison.Ordinal);

    private static async Task<TResponse> Unary<TRequest, TResponse>(
        ValueTask authentication, TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        await authentication.ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    /// <summary>
    /// The full name (<c>/authz.v1.AuthorizationService/Watch</c>) of the method routing resolved the call to, as its
    /// service declares it; UNIMPLEMENTED when the call resolved to none (it cannot then run a method anyway).
    /// </summary>
    internal static string ResolvedMethod(ServerCallContext context) =>
        context.GetHttpContext().GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName
        ?? throw new RpcException(new Status(StatusCode.Unimplemented, $"unknown method {context.Method}"));

    private ValueTask AuthenticateAsync(ServerCallContext context)
    {
        var method = ResolvedMethod(context);
        if (IsPublic(method))
        {
            return ValueTask.CompletedTask;
        }

        ValueTask<Caller> pending;
        try
        {
            pending = authenticator.AuthenticateAsync(BearerKey(context), context.CancellationToken);
        }
        catch (RpcException e)
        {
            Log.CallUnauthenticated(logger, method, e.Status.Detail);
            throw;
        }

        if (pending.IsCompletedSuccessfully)
        {
            Authorize(context, method, pending.Result);
            return ValueTask.CompletedTask;
        }

        return AwaitedAsync(pending, context, method);
    }

    private async ValueTask AwaitedAsync(ValueTask<Caller> pending, ServerCallContext context, string method)
    {
        Caller caller;
        try
        {
            caller = await pending.ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            Log.CallUnauthenticated(logger, method, e.Status.Detail);
            throw;
        }

        Authorize(context, method, caller);
    }

    // method: the resolved method's full name (ResolvedMethod), never the request's path.
    private void Authorize(ServerCallContext context, string method, Caller caller)
    {
        if (!ApiKeyPolicy.Allows(caller.Kind, ApiKeyPolicy.ServiceOf(method)) || !ApiKeyPolicy.AllowsMethod(caller.Kind, method))
        {
            Log.CallForbidden(logger, method, caller.KeyId, caller.Kind);
            throw new RpcException(new Status(StatusCode.PermissionDenied, ApiKeyPolicy.Denial(caller.Kind, method)));
        }

        context.SetCaller(caller);
    }

    // The key of "authorization: Bearer <key>"; UNAUTHENTICATED when the metadata is missing or not a bearer token.
    // Read from the request's headers as HTTP/2 decoded them: ServerCallContext.RequestHeaders would build a Metadata
    // of every header, lower-casing each name, on every call (a profile of Check showed it).
    private static ReadOnlySpan<char> BearerKey(ServerCallContext context)
    {
        var values = context.GetHttpContext().Request.Headers.Authorization;
        if (values.Count == 0)
        {
            throw ApiKeyAuthenticator.Unauthenticated("missing credentials");
        }

        // Two or more header fields are joined with commas, as HttpClient itself joins them when sending: no key has
        // a comma, so such a call is refused as malformed rather than acting as one of the keys.
        var text = values.ToString().AsSpan().Trim();
        if (!text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw ApiKeyAuthenticator.Unauthenticated("the authorization metadata is not a bearer token");
        }

        return text[Scheme.Length..].Trim();
    }
}

/// <summary>
/// Which services each kind of key may call. Admin keys: every service. Management keys: AuthorizationService and
/// ManagementService (where the model decides, call by call, what the key's subject may change). Check keys:
/// AuthorizationService only. A service this table does not name (a new one) is for admin keys only, so new
/// services fail closed.
/// </summary>
internal static class ApiKeyPolicy
{
    /// <summary>authz.v1.AuthorizationService.</summary>
    public const string AuthorizationService = "authz.v1.AuthorizationService";

    /// <summary>authz.v1.ManagementService.</summary>
    public const string ManagementService = "authz.v1.ManagementService";

    /// <summary>authz.v1.AuthorizationService/Watch, for admin keys only.</summary>
    public const string WatchMethod = "/authz.v1.AuthorizationService/Watch";

    /// <summary>authz.v1.ManagementService/WatchEvents, for admin keys only.</summary>
    public const string WatchEventsMethod = "/authz.v1.ManagementService/WatchEvents";

    /// <summary>Whether a key of <paramref name="kind"/> may call <paramref name="service"/> (e.g. <c>authz.v1.SchemaService</c>).</summary>
    public static bool Allows(ApiKeyKind kind, ReadOnlySpan<char> service) => kind switch
    {
        ApiKeyKind.Admin => true,
        ApiKeyKind.Management => service.SequenceEqual(AuthorizationService) || service.SequenceEqual(ManagementService),
        ApiKeyKind.Check => service.SequenceEqual(AuthorizationService),
        _ => false,
    };

    /// <summary>
    /// Methods stricter than their service: Watch streams every relationship change of every object, far more than a
    /// check or lookup answers, and WatchEvents every management change of every object (emails of invitees included),
    /// far more than the model lets any one subject read of the audit log; so only admin keys may call them.
    /// </summary>
    public static bool AllowsMethod(ApiKeyKind kind, string method) =>
        kind == ApiKeyKind.Admin || (!string.Equals(method, WatchMethod, StringComparison.Ordinal) && !string.Equals(method, WatchEventsMethod, StringComparison.Ordinal));

    /// <summary>The service of a gRPC method path: <c>authz.v1.SchemaService</c> for <c>/authz.v1.SchemaService/WriteSchema</c>.</summary>
    public static ReadOnlySpan<char> ServiceOf(string method)
    {
        var path = method.AsSpan().TrimStart('/');
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[..slash];
    }

    /// <summary>The PERMISSION_DENIED message for a key of <paramref name="kind"/> calling <paramref name="method"/>.</summary>
    public static string Denial(ApiKeyKind kind, string method)
    {
        var call = method.TrimStart('/');
        if (method == WatchMethod)
        {
            return $"{call} streams every relationship change: it needs an admin key";
        }

        if (method == WatchEventsMethod)
        {
            return $"{call} streams every management change of every object: it needs an admin key";
        }

        return kind switch
        {
            ApiKeyKind.Check => $"check-only keys cannot call {call}: they may call {AuthorizationService} only; use a management or admin key",
            ApiKeyKind.Management => $"management keys cannot call {call}: they may call {AuthorizationService} and {ManagementService}; use an admin key",
            _ => $"this key cannot call {call}",
        };
    }
}
