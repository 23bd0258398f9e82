using Grpc.Core;

namespace AuthzGrpc.Cli;

/// <summary>
/// The exit codes of <c>authzctl</c>, stable for scripts. As <c>grep</c> and <c>diff</c> do, 1 is the command's "no"
/// (a denied check, a schema that differs, a validation that fails) and every failure is 2 or more, so
/// <c>if authzctl check ...</c> is true only for an allowed check and no failure ever reads as "allowed" or "denied".
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success; an allowed check; a schema equal to the file.</summary>
    public const int Success = 0;

    /// <summary>The answer is no: a denied check, a schema that differs from the file, a failed validation.</summary>
    public const int No = 1;

    /// <summary>A usage error: unknown command or option, a malformed argument, or a request the server calls invalid (INVALID_ARGUMENT, OUT_OF_RANGE).</summary>
    public const int Usage = 2;

    /// <summary>No key, a refused key, or a key not allowed to do this (UNAUTHENTICATED, PERMISSION_DENIED).</summary>
    public const int Refused = 3;

    /// <summary>The state does not allow it (NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED).</summary>
    public const int State = 4;

    /// <summary>The server cannot be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED).</summary>
    public const int Unreachable = 5;

    /// <summary>Any other failure: the server's (INTERNAL, UNKNOWN, ...) or a local file's.</summary>
    public const int Failure = 6;

    /// <summary>The table printed after <c>authzctl --help</c> and in the README.</summary>
    public const string Help = """

        Exit codes:
          0  success; check: allowed; schema diff: equal
          1  no: check denied; schema diff: different; validate: a case failed
          2  usage error, or the server found the request invalid (INVALID_ARGUMENT)
          3  unauthenticated or permission denied
          4  not found, already exists or failed precondition
          5  server unreachable or deadline exceeded
          6  any other failure
        """;

    /// <summary>The exit code of a failed call.</summary>
    public static int Of(StatusCode status) => status switch
    {
        StatusCode.InvalidArgument or StatusCode.OutOfRange => Usage,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => Refused,
        StatusCode.NotFound or StatusCode.AlreadyExists or StatusCode.FailedPrecondition or StatusCode.Aborted => State,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => Unreachable,
        _ => Failure,
    };
}
