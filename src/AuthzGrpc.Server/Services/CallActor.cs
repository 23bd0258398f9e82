using Grpc.Core;

namespace AuthzGrpc.Server.Services;

/// <summary>Who a call acts as, for the revision log and the audit log.</summary>
internal static class CallActor
{
    /// <summary>The actor of an unauthenticated call.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>
    /// The caller's subject. Calls are not authenticated yet (API keys come with their own change), so every call is
    /// <see cref="Anonymous"/>.
    /// </summary>
    public static string Of(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Anonymous;
    }
}
