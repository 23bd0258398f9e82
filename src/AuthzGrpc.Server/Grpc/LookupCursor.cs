using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AuthzGrpc.Core.Model;
using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Grpc;

/// <summary>
/// The opaque cursors of LookupResources and LookupSubjects (<c>after_result_cursor</c> out, <c>cursor</c> in):
/// base64url, without padding, of the ASCII text <c>v1 REVISION REQUEST AFTER CHECKSUM</c> — the format version, the
/// revision the page was computed at, a hash of the request's identifying fields, the id the next page starts strictly
/// after, and a checksum of the four.
/// <para>
/// The checksum catches a cursor that was cut, edited or mixed up, not a forged one: anyone can compute it. That is
/// enough, because a cursor grants nothing: the lookup still answers for the request's own subject, action and type,
/// and a forged cursor can only ask for what a client may ask without one (the results after some id, at least as
/// fresh as some committed revision). Nothing in it is secret either.
/// </para>
/// </summary>
internal static class LookupCursor
{
    /// <summary>The longest cursor read; a real one is under it (an id of 1,024 characters makes one of about 1,450).</summary>
    public const int MaxLength = 2048;

    /// <summary>The request field a cursor is read from, as INVALID_ARGUMENT names it.</summary>
    public const string Field = "cursor";

    private const string Version = "v1";
    private const string Unchanged = "pass the after_result_cursor of a response unchanged, or none to start from the first result";

    // The bytes of SHA-256 kept for the request hash and for the checksum: 64 bits each, against accidents, not adversaries.
    private const int HashBytes = 8;

    /// <summary>Where a page starts: strictly after <paramref name="AfterId"/>, at least at <paramref name="Revision"/>.</summary>
    public readonly record struct Position(long Revision, string AfterId);

    /// <summary>The identity of a LookupResources request: what a cursor of it is bound to (not its limit or consistency).</summary>
    public static string RequestHash(LookupResourcesRequest request) =>
        Hash($"LookupResources\n{request.ResourceType}\n{request.Action}\n{request.Subject.Object.Type}:{request.Subject.Object.Id}#{request.Subject.Relation}"
            + Caveats(request.CaveatContext, request.IncludeConditional));

    /// <summary>
    /// The identity of a LookupSubjects request: what a cursor of it is bound to (not its limit or consistency). The
    /// subject relation is appended only when set, so cursors issued before the field existed stay valid.
    /// </summary>
    public static string RequestHash(LookupSubjectsRequest request) =>
        Hash($"LookupSubjects\n{request.Resource.Type}:{request.Resource.Id}\n{request.Action}\n{request.SubjectType}"
            + (request.SubjectRelation.Length == 0 ? string.Empty : $"#{request.SubjectRelation}")
            + Caveats(request.CaveatContext, request.IncludeConditional));

    // What a lookup's caveat fields add to its identity: nothing when unset, so cursors issued before they existed stay
    // valid; else the context (canonical JSON, as the answers depend on it) and whether conditional answers are listed.
    private static string Caveats(Google.Protobuf.WellKnownTypes.Struct? context, bool includeConditional) =>
        context is null && !includeConditional ? string.Empty
        : $"\ncaveats {(includeConditional ? "+" : "-")}{(CaveatMapping.Context(context, "caveat_context", out var parsed) is null ? parsed?.ToJson() : null)}";

    /// <summary>The cursor that resumes the request hashed to <paramref name="requestHash"/> strictly after <paramref name="afterId"/>.</summary>
    public static string Encode(long revision, string requestHash, string afterId)
    {
        var body = $"{Version} {revision.ToString(CultureInfo.InvariantCulture)} {requestHash} {afterId}";
        return Base64Url.EncodeToString(Encoding.ASCII.GetBytes($"{body} {Checksum(body)}"));
    }

    /// <summary>
    /// Reads <paramref name="cursor"/> of the request hashed to <paramref name="requestHash"/>: null when empty (start
    /// from the first result), else where to resume. Anything else — too long, not base64url, altered, of another
    /// version or of another request — throws INVALID_ARGUMENT naming <see cref="Field"/>; never anything else.
    /// </summary>
    public static Position? Decode(string cursor, string requestHash, bool wildcardAllowed)
    {
        if (cursor.Length == 0)
        {
            return null;
        }

        if (cursor.Length > MaxLength)
        {
            throw Invalid($"is {cursor.Length} characters long; a cursor is at most {MaxLength}: {Unchanged}");
        }

        if (Text(cursor) is not { } text)
        {
            throw Invalid($"is not a cursor (base64url of a cursor of this server): {Unchanged}");
        }

        var parts = text.Split(' ');
        if (parts.Length != 5 || parts[0] != Version)
        {
            throw Invalid($"is not a cursor this server reads: {Unchanged}");
        }

        var body = text[..text.LastIndexOf(' ')];
        if (!string.Equals(parts[4], Checksum(body), StringComparison.Ordinal))
        {
            throw Invalid($"was altered or cut (its checksum does not match): {Unchanged}");
        }

        var afterId = parts[3];
        if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var revision) ||
            !(Identifiers.IsValidId(afterId) || (wildcardAllowed && afterId == Identifiers.Wildcard)))
        {
            throw Invalid($"is not a cursor this server reads: {Unchanged}");
        }

        if (!string.Equals(parts[2], requestHash, StringComparison.Ordinal))
        {
            throw Invalid("belongs to another request: resume with the same subject, action and type (or resource) as the page it came from, or start without a cursor");
        }

        return new Position(revision, afterId);
    }

    /// <summary>INVALID_ARGUMENT on <see cref="Field"/>: the cursor carries a revision the store has not committed.</summary>
    public static RpcException NotCommitted(long revision) =>
        Invalid($"carries revision {revision}, which this deployment's store has not committed (a cursor of another deployment?): start without a cursor");

    // The cursor's ASCII text, or null when it is not base64url of printable ASCII.
    private static string? Text(string cursor)
    {
        foreach (var c in cursor)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return null;
            }
        }

        // IsValid first: TryDecodeFromChars throws (rather than returning false) on a length no base64 has, e.g. 5.
        if (!Base64Url.IsValid(cursor, out var length))
        {
            return null;
        }

        var bytes = new byte[length];
        if (!Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != length)
        {
            return null;
        }

        foreach (var b in bytes)
        {
            if (b is < 0x20 or > 0x7E)
            {
                return null;
            }
        }

        return Encoding.ASCII.GetString(bytes);
    }

    private static string Checksum(string body) => Hash("authz.v1 lookup cursor\n" + body);

    private static string Hash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, HashBytes));

    private static RpcException Invalid(string description) => RequestValidation.Exception(RequestValidation.Violation(Field, description));
}
