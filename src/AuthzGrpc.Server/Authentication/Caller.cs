using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Server.Authentication;

/// <summary>The authenticated caller of a call: the subject its API key acts as, the key's kind and the key's id.</summary>
/// <param name="Subject">Who the call acts as (<c>user:alice</c>); management calls are authorized by the model for it.</param>
/// <param name="Kind">What the key may call.</param>
/// <param name="KeyId">The public id of the key (never its secret).</param>
/// <param name="Email">The verified email address the key carries (lowercase), or null: what AcceptInvitation matches.</param>
public sealed record Caller(SubjectRef Subject, ApiKeyKind Kind, string KeyId, string? Email = null);

/// <summary>What an API key may call.</summary>
public enum ApiKeyKind
{
    /// <summary>authz.v1.AuthorizationService only (sidecars).</summary>
    Check,

    /// <summary>authz.v1.AuthorizationService and authz.v1.ManagementService, each management call authorized by the model for the key's subject.</summary>
    Management,

    /// <summary>Every service, including SchemaService, RelationshipService and ApiKeyService.</summary>
    Admin,
}

/// <summary>The caller stored on a call by the authentication interceptor.</summary>
public static class CallerExtensions
{
    // Where a call hosted without ASP.NET Core (a test calling a service directly) keeps its caller.
    private static readonly object Key = new();

    /// <summary>The authenticated caller; throws <see cref="RpcException"/> UNAUTHENTICATED when the call has none.</summary>
    public static Caller GetCaller(this ServerCallContext context) =>
        TryGetCaller(context) ?? throw new RpcException(new Status(StatusCode.Unauthenticated, ApiKeyFormat.SendKeyHint("the call is not authenticated")));

    /// <summary>The authenticated caller, or null when the call has none.</summary>
    internal static Caller? TryGetCaller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return HttpContextOf(context) is { } http
            ? http.Features.Get<Caller>()
            : context.UserState.TryGetValue(Key, out var value) ? value as Caller : null;
    }

    /// <summary>Stores the caller on the call (the interceptor does; tests calling a service directly may too).</summary>
    internal static void SetCaller(this ServerCallContext context, Caller caller)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(caller);
        if (HttpContextOf(context) is { } http)
        {
            // A feature of the call's own request, private to it and gone with it. Kestrel keeps it in a list it
            // reuses from one request to the next on a stream, where UserState (HttpContext.Items) would build a
            // dictionary for every call.
            http.Features.Set(caller);
        }
        else
        {
            context.UserState[Key] = caller;
        }
    }

    // The call's HttpContext when ASP.NET Core hosts it (every call the server receives), else null.
    private static HttpContext? HttpContextOf(ServerCallContext context)
    {
        try
        {
            return context.GetHttpContext();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
