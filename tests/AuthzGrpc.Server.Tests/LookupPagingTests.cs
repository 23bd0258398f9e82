using System.Globalization;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Rpc;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// LookupResources and LookupSubjects in pages (<c>limit</c>, <c>cursor</c>, <c>after_result_cursor</c>) against the
/// shared server with the default data: every page size gives the unpaged list, in order, once.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class LookupPagingTests(ServerFixture server) : ServerTest(server)
{
    /// <summary>Lookups of the default data with more than three results, so that pages of 1 to 3 really page.</summary>
    public static TheoryData<string, int> ResourceLookups => Cross(["user:olivia|view|environment", "user:olivia|deploy|application", "user:olivia|view|application"]);

    /// <summary>As <see cref="ResourceLookups"/>, for subjects.</summary>
    public static TheoryData<string, int> SubjectLookups => Cross(["application:payments-api|deploy|user", "project:storefront|write_documents|user"]);

    [Theory]
    [MemberData(nameof(ResourceLookups))]
    public async Task LookupResources_PagedByLimit_GivesTheUnpagedListInOrderOnce(string lookup, int limit)
    {
        var request = LookupResources(lookup);
        var unpaged = (await ReadAsync(Client.LookupResources(request))).Select(r => Text(r.Resource)).ToList();

        var paged = await PageThroughAsync(cursor => Client.LookupResources(Page(request, (uint)limit, cursor)), limit, unpaged.Count, r => r.AfterResultCursor);

        Assert.True(unpaged.Count > limit, $"{lookup} has {unpaged.Count} results: too few to page by {limit}");
        Assert.Equal(unpaged, paged.Select(r => Text(r.Resource)));
        Assert.Distinct(paged.Select(r => Text(r.Resource)));
    }

    [Theory]
    [MemberData(nameof(SubjectLookups))]
    public async Task LookupSubjects_PagedByLimit_GivesTheUnpagedListInOrderOnce(string lookup, int limit)
    {
        var request = LookupSubjects(lookup);
        var unpaged = (await ReadAsync(Client.LookupSubjects(request))).Select(r => Text(r.Subject)).ToList();

        var paged = await PageThroughAsync(cursor => Client.LookupSubjects(Page(request, (uint)limit, cursor)), limit, unpaged.Count, r => r.AfterResultCursor);

        Assert.True(unpaged.Count > limit, $"{lookup} has {unpaged.Count} results: too few to page by {limit}");
        Assert.Equal(unpaged, paged.Select(r => Text(r.Subject)));
        Assert.Distinct(paged.Select(r => Text(r.Subject)));
    }

    [Fact]
    public async Task LookupResources_EveryResponsesCursor_ResumesRightAfterIt()
    {
        var request = LookupResources("user:olivia|view|environment");
        var unpaged = await ReadAsync(Client.LookupResources(request));

        for (var i = 0; i < unpaged.Count; i++)
        {
            var rest = await ReadAsync(Client.LookupResources(Page(request, 0, unpaged[i].AfterResultCursor)));

            Assert.Equal(unpaged.Skip(i + 1).Select(r => Text(r.Resource)), rest.Select(r => Text(r.Resource)));
        }
    }

    [Fact]
    public async Task Lookup_CursorWithAnotherLimitOrConsistency_IsAccepted()
    {
        var request = LookupSubjects("project:storefront|write_documents|user");
        var unpaged = (await ReadAsync(Client.LookupSubjects(request))).Select(r => Text(r.Subject)).ToList();
        var first = await ReadAsync(Client.LookupSubjects(Page(request, 2)));

        var resumed = Page(request, 3, first[^1].AfterResultCursor);
        resumed.Consistency = new Consistency { FullyConsistent = true };
        var next = await ReadAsync(Client.LookupSubjects(resumed));

        Assert.Equal(unpaged[2..5], next.Select(r => Text(r.Subject)));
    }

    [Fact]
    public async Task Lookup_LimitAtTheCap_IsAccepted_AboveIt_IsInvalidArgumentNamingLimit()
    {
        var request = LookupResources("user:olivia|view|environment");

        var atCap = await ReadAsync(Client.LookupResources(Page(request, 1000)));
        var error = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(Client.LookupResources(Page(request, 1001))));

        Assert.NotEmpty(atCap);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("limit", error.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Single().Field);
        Assert.Contains("Authz:MaxLookupLimit", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_CursorOfAnotherRequest_IsInvalidArgumentNamingCursor()
    {
        var olivia = LookupResources("user:olivia|view|environment");
        var devon = LookupResources("user:devon|view|environment");
        var subjects = LookupSubjects("project:storefront|write_documents|user");
        var oliviasCursor = (await ReadAsync(Client.LookupResources(Page(olivia, 1))))[0].AfterResultCursor;
        var subjectsCursor = (await ReadAsync(Client.LookupSubjects(Page(subjects, 1))))[0].AfterResultCursor;

        var otherSubject = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(Client.LookupResources(Page(devon, 1, oliviasCursor))));
        var otherMethod = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(Client.LookupResources(Page(olivia, 1, subjectsCursor))));
        var otherAction = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(Client.LookupSubjects(Page(LookupSubjects("project:storefront|view|user"), 1, subjectsCursor))));

        foreach (var error in new[] { otherSubject, otherMethod, otherAction })
        {
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Equal("cursor", error.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Single().Field);
            Assert.StartsWith("cursor: belongs to another request", error.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Lookup_EveryOneCharacterEditOfACursor_IsInvalidArgumentOrTheSamePosition()
    {
        var request = LookupResources("user:olivia|view|environment");
        var unpaged = await ReadAsync(Client.LookupResources(request));
        var cursor = unpaged[0].AfterResultCursor;
        var expected = unpaged.Skip(1).Select(r => Text(r.Resource)).ToList();

        var rejected = 0;
        for (var i = 0; i < cursor.Length; i++)
        {
            // The same alphabet, so that each edit reaches the checksum rather than the character check.
            var edited = cursor[..i] + (cursor[i] == 'A' ? 'B' : 'A') + cursor[(i + 1)..];
            try
            {
                var rest = await ReadAsync(Client.LookupResources(Page(request, 0, edited)));

                // Only the spare low bits of the last base64 character decode to the same bytes: the same cursor.
                Assert.Equal(cursor.Length - 1, i);
                Assert.Equal(expected, rest.Select(r => Text(r.Resource)));
            }
            catch (RpcException error)
            {
                Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
                Assert.StartsWith("cursor: ", error.Status.Detail, StringComparison.Ordinal);
                rejected++;
            }
        }

        Assert.True(rejected >= cursor.Length - 1, $"{rejected} of {cursor.Length} edits rejected");
    }

    /// <summary>Reads a lookup's stream to its end.</summary>
    internal static async Task<List<T>> ReadAsync<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            return await call.ResponseStream.ReadAllAsync().ToListAsync();
        }
    }

    // Every response of a lookup in pages of `limit`, each page resumed from the cursor of the last response before it,
    // until a page comes back short. Fails on a page longer than the limit, and when paging goes past `most` results
    // (it would never end).
    private static async Task<List<T>> PageThroughAsync<T>(Func<string, AsyncServerStreamingCall<T>> call, int limit, int most, Func<T, string> cursorOf)
    {
        var all = new List<T>();
        for (var cursor = string.Empty; ;)
        {
            var page = await ReadAsync(call(cursor));
            Assert.InRange(page.Count, 0, limit);
            all.AddRange(page);
            Assert.True(all.Count <= most, $"paging by {limit} went past {most} results");
            if (page.Count < limit)
            {
                return all;
            }

            cursor = cursorOf(page[^1]);
        }
    }

    private static TheoryData<string, int> Cross(string[] lookups)
    {
        var data = new TheoryData<string, int>();
        foreach (var lookup in lookups)
        {
            for (var limit = 1; limit <= 3; limit++)
            {
                data.Add(lookup, limit);
            }
        }

        return data;
    }
}

/// <summary>
/// Cursors across writes, each test on servers of its own: a resumed page sees what was granted after the cursor's
/// position and never repeats what came before it, and answers at least at the cursor's revision even on a replica
/// that has not caught up.
/// </summary>
public sealed class LookupCursorConsistencyTests
{
    private const string NoPoll = "3600000";

    public static TheoryData<string> Providers => TestDatabase.ProviderNames;

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Cursor_ReusedAfterAWrite_ShowsLaterGrants_AndRepeatsNothing(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var server = await StoreServer.StartAsync(database);
        await server.Relationships.WriteRelationshipsAsync(Write(
            Update(Operation.Touch, "project:p2#viewer@user:zoe"),
            Update(Operation.Touch, "project:p4#viewer@user:zoe"),
            Update(Operation.Touch, "project:p6#viewer@user:zoe")));
        var request = LookupResources("user:zoe|view|project");

        var first = await LookupPagingTests.ReadAsync(server.Authorization.LookupResources(Page(request, 2)));
        var written = await server.Relationships.WriteRelationshipsAsync(Write(
            Update(Operation.Touch, "project:p1#viewer@user:zoe"),
            Update(Operation.Touch, "project:p3#viewer@user:zoe"),
            Update(Operation.Touch, "project:p5#viewer@user:zoe")));
        var rest = await LookupPagingTests.ReadAsync(server.Authorization.LookupResources(Page(request, 0, first[^1].AfterResultCursor)));

        Assert.Equal(["project:p2", "project:p4"], first.Select(r => Text(r.Resource)));
        Assert.Equal(["project:p5", "project:p6"], rest.Select(r => Text(r.Resource)));
        Assert.All(rest, r => Assert.True(Revision(r.Revision) >= Revision(written.Revision)));
        server.AssertNoErrors();
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Cursor_ResumedOnAReplicaBehindIt_AnswersAtLeastAtTheCursorsRevision(string provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var a = await StoreServer.StartAsync(database);
        // B never polls: only the cursor's revision can bring A's writes to it.
        await using var b = await StoreServer.StartAsync(database, new Dictionary<string, string?> { ["Authz:SyncIntervalMilliseconds"] = NoPoll });
        var written = await a.Relationships.WriteRelationshipsAsync(Write(
            Update(Operation.Touch, "project:p2#viewer@user:zoe"),
            Update(Operation.Touch, "project:p4#viewer@user:zoe")));
        var request = LookupResources("user:zoe|view|project");
        var fromB = await LookupPagingTests.ReadAsync(b.Authorization.LookupResources(request));

        var first = await LookupPagingTests.ReadAsync(a.Authorization.LookupResources(Page(request, 1)));
        var resumed = Page(request, 1, first[0].AfterResultCursor);
        resumed.Consistency = new Consistency { MinimizeLatency = true };
        var second = await LookupPagingTests.ReadAsync(b.Authorization.LookupResources(resumed));

        Assert.Empty(fromB);
        Assert.Equal(written.Revision, first[0].Revision);
        Assert.Equal(["project:p4"], second.Select(r => Text(r.Resource)));
        Assert.True(Revision(second[0].Revision) >= Revision(written.Revision), $"answered at {second[0].Revision}, cursor at {written.Revision}");
        a.AssertNoErrors();
        b.AssertNoErrors();
    }

    private static long Revision(string text) => long.Parse(text, CultureInfo.InvariantCulture);
}
