using System.Globalization;
using FieldViolation = Google.Rpc.BadRequest.Types.FieldViolation;

namespace AuthzGrpc.Server.Grpc;

/// <summary>Consistency requirements and revision tokens, parsed once at the edge into Core values.</summary>
internal static partial class RequestValidation
{
    /// <summary>
    /// Resolves a request's <c>consistency</c>: unset and <c>minimize_latency</c> (and <c>fully_consistent: false</c>) are
    /// <see cref="ReadConsistency.MinimizeLatency"/>. Throws INVALID_ARGUMENT for a malformed <c>at_least</c> token.
    /// </summary>
    public static ReadConsistency Consistency(V1.Consistency? consistency)
    {
        switch (consistency?.RequirementCase)
        {
            case V1.Consistency.RequirementOneofCase.AtLeast:
                if (Revision(consistency.AtLeast, "consistency.at_least", out var token) is { } violation)
                {
                    Throw(violation);
                }

                return ReadConsistency.AtLeast(token);
            case V1.Consistency.RequirementOneofCase.FullyConsistent when consistency.FullyConsistent:
                return ReadConsistency.FullyConsistent;
            default:
                return ReadConsistency.MinimizeLatency;
        }
    }

    /// <summary>Parses a revision token: a decimal number of at least 0; anything else is a violation of <paramref name="field"/>.</summary>
    public static FieldViolation? Revision(string text, string field, out long revision) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out revision)
            ? null
            : Violation(field, $"'{Truncate(text)}' is not a revision token: the decimal revision a write or a check returned, e.g. 42");
}
