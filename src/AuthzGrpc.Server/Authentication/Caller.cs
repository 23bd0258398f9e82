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
    // UserState is the call's HttpContext.Items: private to this call, gone with it.
    private static readonly object Key = new();

    /// <summary>The authenticated caller; throws <see cref="RpcException"/> UNAUTHENTICATED when the call has none.</summary>
    public static Caller GetCaller(this ServerCallContext context) =>
        TryGetCaller(context) ?? throw new RpcException(new Status(StatusCode.Unauthenticated, ApiKeyFormat.SendKeyHint("the call is not authenticated")));

    /// <summary>The authenticated caller, or null when the call has none.</summary>
    internal static Caller? TryGetCaller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(Key, out var value) ? value as Caller : null;
    }

    /// <summary>Stores the caller on the call (the interceptor does; tests calling a service directly may too).</summary>
    internal static void SetCaller(this ServerCallContext context, Caller caller)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(caller);
        context.UserState[Key] = caller;
    }
}
