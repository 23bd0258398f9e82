namespace AuthzGrpc.Core;

/// <summary>What kind of failure an <see cref="AuthzException"/> is; the server maps each to one gRPC status.</summary>
public enum AuthzErrorKind
{
    /// <summary>The request is malformed or names what the schema does not define.</summary>
    InvalidArgument,

    /// <summary>Something the request names does not exist.</summary>
    NotFound,

    /// <summary>A create found the relationship already stored.</summary>
    AlreadyExists,

    /// <summary>The request is well formed but the state forbids it (a broken precondition or rule).</summary>
    FailedPrecondition,

    /// <summary>The caller lacks the authority for the change (a management rule's <c>by</c>, <c>holding</c> or <c>except self</c>).</summary>
    PermissionDenied,

    /// <summary>Evaluation hit its recursion budget (a cycle in the data, or a graph deeper than allowed).</summary>
    DepthExceeded,

    /// <summary>Evaluation needed more steps than its budget allows: the check is too expensive to answer.</summary>
    ResourceExhausted,

    /// <summary>This process does not answer such a request (a check replica asked what only a full replica answers).</summary>
    Unimplemented,
}

/// <summary>A failure the caller can act on. Never means "allowed".</summary>
public sealed class AuthzException : Exception
{
    /// <summary>Creates the error.</summary>
    public AuthzException(AuthzErrorKind kind, string message)
        : base(message) => Kind = kind;

    /// <summary>The kind of failure.</summary>
    public AuthzErrorKind Kind { get; }

    internal static AuthzException Invalid(string message) => new(AuthzErrorKind.InvalidArgument, message);
}
