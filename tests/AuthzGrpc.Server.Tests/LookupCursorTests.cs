using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Rpc;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>The lookup cursor's format on its own: what it reads back, and that anything else is INVALID_ARGUMENT on <c>cursor</c>.</summary>
public sealed class LookupCursorTests
{
    private static readonly string OliviasProjects = LookupCursor.RequestHash(
        new LookupResourcesRequest { Subject = Subject("user:olivia"), Action = "view", ResourceType = "project" });

    [Theory]
    [InlineData(0L, "a")]
    [InlineData(42L, "storefront")]
    [InlineData(long.MaxValue, "A-Z_a-z.0-9/|=+")]
    public void Encode_ThenDecode_GivesThePositionBack(long revision, string afterId)
    {
        var cursor = LookupCursor.Encode(revision, OliviasProjects, afterId);

        Assert.Equal(new LookupCursor.Position(revision, afterId), LookupCursor.Decode(cursor, OliviasProjects, wildcardAllowed: false));
        Assert.All(cursor, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_', $"'{c}' is not base64url"));
    }

    [Fact]
    public void Decode_Empty_IsTheFirstPage() => Assert.Null(LookupCursor.Decode(string.Empty, OliviasProjects, wildcardAllowed: false));

    [Fact]
    public void Encode_OfTheLongestId_FitsTheLimit()
    {
        var cursor = LookupCursor.Encode(long.MaxValue, OliviasProjects, new string('x', Core.Model.Identifiers.MaxIdLength));

        Assert.InRange(cursor.Length, 1, LookupCursor.MaxLength);
        Assert.NotNull(LookupCursor.Decode(cursor, OliviasProjects, wildcardAllowed: false));
    }

    [Fact]
    public void Decode_AfterTheWildcard_OnlyWhereSubjectsAreListed()
    {
        var cursor = LookupCursor.Encode(1, OliviasProjects, "*");

        Assert.Equal("*", LookupCursor.Decode(cursor, OliviasProjects, wildcardAllowed: true)?.AfterId);
        AssertRejected(() => LookupCursor.Decode(cursor, OliviasProjects, wildcardAllowed: false), "is not a cursor this server reads");
    }

    [Fact]
    public void RequestHash_DependsOnEveryIdentifyingField_NotOnLimitCursorOrConsistency()
    {
        var request = new LookupSubjectsRequest { Resource = Requests.Object("project:web"), Action = "view", SubjectType = "user" };
        var hashes = new[]
        {
            LookupCursor.RequestHash(request),
            LookupCursor.RequestHash(Changed(request, r => r.Resource.Type = "folder")),
            LookupCursor.RequestHash(Changed(request, r => r.Resource.Id = "api")),
            LookupCursor.RequestHash(Changed(request, r => r.Action = "edit")),
            LookupCursor.RequestHash(Changed(request, r => r.SubjectType = "group")),
        };
        var same = LookupCursor.RequestHash(Changed(request, r =>
        {
            r.Limit = 5;
            r.Cursor = "x";
            r.Consistency = new Consistency { FullyConsistent = true };
        }));

        Assert.Equal(hashes.Length, hashes.Distinct().Count());
        Assert.Equal(hashes[0], same);
    }

    [Fact]
    public void Decode_RandomText_IsOnlyEverInvalidArgumentOnCursor()
    {
        var random = new Random(20_240_601);
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ +/=%*";
        var real = LookupCursor.Encode(7, OliviasProjects, "storefront");
        for (var i = 0; i < 2000; i++)
        {
            // Half the inputs start from a real cursor, so that decoding gets past the first checks.
            var length = random.Next(1, 80);
            var text = i % 2 == 0
                ? new string([.. Enumerable.Range(0, length).Select(_ => Alphabet[random.Next(Alphabet.Length)])])
                : real[..random.Next(real.Length)] + Alphabet[random.Next(64)];
            if (text == real)
            {
                continue;
            }

            try
            {
                // A lucky string that reads as a cursor is only a position: still bound to the request, never an allow.
                var position = LookupCursor.Decode(text, OliviasProjects, wildcardAllowed: true);
                Assert.NotNull(position);
            }
            catch (RpcException error)
            {
                AssertInvalidCursor(error);
            }
        }
    }

    private static LookupSubjectsRequest Changed(LookupSubjectsRequest request, Action<LookupSubjectsRequest> change)
    {
        var copy = request.Clone();
        change(copy);
        return copy;
    }

    private static void AssertRejected(Action decode, string fragment)
    {
        var error = Assert.Throws<RpcException>(decode);
        AssertInvalidCursor(error);
        Assert.Contains(fragment, error.Status.Detail, StringComparison.Ordinal);
    }

    private static void AssertInvalidCursor(RpcException error)
    {
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("cursor: ", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("cursor", error.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Single().Field);
    }
}
