using AuthzGrpc.Server.Grpc;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Google.Rpc;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>Malformed requests: each is INVALID_ARGUMENT with a message naming the problem — never UNKNOWN, never ALLOWED.</summary>
[Collection(ServerCollection.Name)]
public sealed class ValidationTests(ServerFixture server) : ServerTest(server)
{
    private static readonly string LongId = new('a', Core.Model.Identifiers.MaxIdLength + 1);

    /// <summary>
    /// (case name, request, the field the BadRequest detail names, or null when the engine rejects a well-formed
    /// name the schema does not define, and a fragment the message must contain).
    /// </summary>
    public static TheoryData<string, CheckRequest, string?, string> MalformedChecks => new()
    {
        { "missing subject", new CheckRequest { Action = "view", Resource = Requests.Object("project:storefront") }, "subject", "required" },
        { "missing subject object", new CheckRequest { Subject = new SubjectRef(), Action = "view", Resource = Requests.Object("project:storefront") }, "subject.object", "required" },
        { "missing resource", new CheckRequest { Subject = Subject("user:devon"), Action = "view" }, "resource", "required" },
        { "missing action", Check("user:devon", "", "project:storefront"), "action", "required" },
        { "empty subject id", With(Check("user:devon", "view", "project:storefront"), r => r.Subject.Object.Id = ""), "subject.object.id", "required" },
        { "empty resource id", With(Check("user:devon", "view", "project:storefront"), r => r.Resource.Id = ""), "resource.id", "required" },
        { "empty subject type", With(Check("user:devon", "view", "project:storefront"), r => r.Subject.Object.Type = ""), "subject.object.type", "required" },
        { "1025-char resource id", Check("user:devon", "view", "project:" + LongId), "resource.id", "1025 characters" },
        { "1025-char subject id", Check("user:" + LongId, "view", "project:storefront"), "subject.object.id", "1025 characters" },
        { "space in id", Check("user:dev on", "view", "project:storefront"), "subject.object.id", "not a valid id" },
        { "bad characters in id", Check("user:devon", "view", "project:store<front>"), "resource.id", "not a valid id" },
        { "uppercase type", Check("User:devon", "view", "project:storefront"), "subject.object.type", "not a valid type" },
        { "bad characters in action", Check("user:devon", "view;drop", "project:storefront"), "action", "not a valid" },
        { "bad subject relation", Check("user:devon#Member!", "view", "project:storefront"), "subject.relation", "not a valid" },
        { "wildcard subject", Check("user:*", "view", "project:storefront"), "subject.object.id", "wildcard" },
        { "unknown resource type", Check("user:devon", "view", "spaceship:enterprise"), null, "spaceship" },
        { "unknown subject type", Check("robot:r2d2", "view", "project:storefront"), null, "robot" },
        { "unknown permission", Check("user:devon", "teleport", "project:storefront"), null, "teleport" },
        { "unknown subject relation", Check("group:sre#owner", "view", "project:storefront"), null, "owner" },
    };

    [Theory]
    [MemberData(nameof(MalformedChecks))]
    public async Task Check_MalformedRequest_IsInvalidArgument(string name, CheckRequest request, string? field, string fragment)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Client.CheckAsync(request).ResponseAsync);

        AssertInvalid(name, error, field, fragment);
    }

    [Theory]
    [MemberData(nameof(MalformedChecks))]
    public async Task Explain_MalformedRequest_IsInvalidArgument(string name, CheckRequest request, string? field, string fragment)
    {
        var explain = new ExplainRequest { Subject = request.Subject, Action = request.Action, Resource = request.Resource };

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ExplainAsync(explain).ResponseAsync);

        AssertInvalid(name, error, field, fragment);
    }

    [Theory]
    [MemberData(nameof(MalformedChecks))]
    public async Task BatchCheck_MalformedItem_IsInvalidArgument(string name, CheckRequest request, string? field, string fragment)
    {
        var batch = new BatchCheckRequest { Items = { Check("user:devon", "view", "project:storefront"), request } };

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.BatchCheckAsync(batch).ResponseAsync);

        AssertInvalid(name, error, field is null ? null : "items[1]." + field, fragment);
    }

    public static TheoryData<string, LookupResourcesRequest, string?> MalformedLookupResources => new()
    {
        { "missing subject", new LookupResourcesRequest { Action = "view", ResourceType = "project" }, "subject" },
        { "wildcard subject", new LookupResourcesRequest { Subject = Subject("user:*"), Action = "view", ResourceType = "project" }, "subject.object.id" },
        { "missing action", new LookupResourcesRequest { Subject = Subject("user:devon"), ResourceType = "project" }, "action" },
        { "missing resource type", new LookupResourcesRequest { Subject = Subject("user:devon"), Action = "view" }, "resource_type" },
        { "bad resource type", new LookupResourcesRequest { Subject = Subject("user:devon"), Action = "view", ResourceType = "Project!" }, "resource_type" },
        { "unknown resource type", new LookupResourcesRequest { Subject = Subject("user:devon"), Action = "view", ResourceType = "spaceship" }, null },
        { "unknown permission", new LookupResourcesRequest { Subject = Subject("user:devon"), Action = "teleport", ResourceType = "project" }, null },
        { "limit above the cap", new LookupResourcesRequest { Subject = Subject("user:devon"), Action = "view", ResourceType = "project", Limit = 1001 }, "limit" },
        { "cursor not base64url", DevonsProjects("not a cursor!"), "cursor" },
        { "cursor of 2000 characters", DevonsProjects(new string('A', 2000)), "cursor" },
        { "cursor of another version", DevonsProjects(Base64Url("v2 1 0011223344556677 storefront 0011223344556677")), "cursor" },
        { "cursor with a bad checksum", DevonsProjects(Base64Url($"v1 1 {LookupCursor.RequestHash(DevonsProjects(""))} storefront 0011223344556677")), "cursor" },
        { "cursor of another subject", DevonsProjects(LookupCursor.Encode(1, LookupCursor.RequestHash(new LookupResourcesRequest { Subject = Subject("user:olivia"), Action = "view", ResourceType = "project" }), "storefront")), "cursor" },
        { "cursor of a LookupSubjects", DevonsProjects(LookupCursor.Encode(1, LookupCursor.RequestHash(StorefrontViewers("")), "devon")), "cursor" },
        { "cursor at an uncommitted revision", DevonsProjects(LookupCursor.Encode(1_000_000, LookupCursor.RequestHash(DevonsProjects("")), "storefront")), "cursor" },
        { "cursor after the wildcard", DevonsProjects(LookupCursor.Encode(1, LookupCursor.RequestHash(DevonsProjects("")), "*")), "cursor" },
    };

    [Theory]
    [MemberData(nameof(MalformedLookupResources))]
    public async Task LookupResources_MalformedRequest_IsInvalidArgument(string name, LookupResourcesRequest request, string? field)
    {
        using var call = Client.LookupResources(request);

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.ReadAllAsync().ToListAsync().AsTask());

        AssertInvalid(name, error, field, string.Empty);
    }

    public static TheoryData<string, LookupSubjectsRequest, string?> MalformedLookupSubjects => new()
    {
        { "missing resource", new LookupSubjectsRequest { Action = "view", SubjectType = "user" }, "resource" },
        { "1025-char resource id", new LookupSubjectsRequest { Resource = Requests.Object("project:" + LongId), Action = "view", SubjectType = "user" }, "resource.id" },
        { "missing subject type", new LookupSubjectsRequest { Resource = Requests.Object("project:storefront"), Action = "view" }, "subject_type" },
        { "unknown subject type", new LookupSubjectsRequest { Resource = Requests.Object("project:storefront"), Action = "view", SubjectType = "robot" }, null },
        { "unknown permission", new LookupSubjectsRequest { Resource = Requests.Object("project:storefront"), Action = "teleport", SubjectType = "user" }, null },
        { "limit above the cap", new LookupSubjectsRequest { Resource = Requests.Object("project:storefront"), Action = "view", SubjectType = "user", Limit = uint.MaxValue }, "limit" },
        { "cursor not base64url", StorefrontViewers("a+b/c="), "cursor" },
        { "cursor of another resource", StorefrontViewers(LookupCursor.Encode(1, LookupCursor.RequestHash(new LookupSubjectsRequest { Resource = Requests.Object("project:payments"), Action = "view", SubjectType = "user" }), "devon")), "cursor" },
        { "cursor of a LookupResources", StorefrontViewers(LookupCursor.Encode(1, LookupCursor.RequestHash(DevonsProjects("")), "storefront")), "cursor" },
        { "cursor at an uncommitted revision", StorefrontViewers(LookupCursor.Encode(1_000_000, LookupCursor.RequestHash(StorefrontViewers("")), "devon")), "cursor" },
    };

    [Theory]
    [MemberData(nameof(MalformedLookupSubjects))]
    public async Task LookupSubjects_MalformedRequest_IsInvalidArgument(string name, LookupSubjectsRequest request, string? field)
    {
        using var call = Client.LookupSubjects(request);

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.ReadAllAsync().ToListAsync().AsTask());

        AssertInvalid(name, error, field, string.Empty);
    }

    private static void AssertInvalid(string name, RpcException error, string? field, string fragment)
    {
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{name}: expected INVALID_ARGUMENT, got {error.StatusCode}: {error.Status.Detail}");
        Assert.False(string.IsNullOrWhiteSpace(error.Status.Detail), $"{name}: the status has no message");
        Assert.Contains(fragment, error.Status.Detail, StringComparison.Ordinal);
        var violations = error.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations;
        if (field is null)
        {
            // Well-formed but not in the schema: the engine's message names what is missing.
            return;
        }

        Assert.NotNull(violations);
        Assert.Equal(field, Assert.Single(violations).Field);
        Assert.StartsWith(field + ": ", error.Status.Detail, StringComparison.Ordinal);
    }

    private static LookupResourcesRequest DevonsProjects(string cursor) =>
        new() { Subject = Subject("user:devon"), Action = "view", ResourceType = "project", Cursor = cursor };

    private static LookupSubjectsRequest StorefrontViewers(string cursor) =>
        new() { Resource = Requests.Object("project:storefront"), Action = "view", SubjectType = "user", Cursor = cursor };

    private static string Base64Url(string text) => System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.ASCII.GetBytes(text));

    private static CheckRequest With(CheckRequest request, Action<CheckRequest> change)
    {
        change(request);
        return request;
    }
}
