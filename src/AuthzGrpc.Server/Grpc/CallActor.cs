using AuthzGrpc.Server.Authentication;

namespace AuthzGrpc.Server.Grpc;

/// <summary>Who a call acts as, for the revision log and the audit log.</summary>
internal static class CallActor
{
    /// <summary>
    /// The caller's subject as text (<c>user:alice</c>): the subject of the API key that authenticated the call. Throws
    /// <see cref="RpcException"/> UNAUTHENTICATED when the call was not authenticated, so nothing is ever recorded
    /// without an actor.
    /// </summary>
    public static string Of(ServerCallContext context) => context.GetCaller().Subject.ToString();
}
