using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>Starting the server on other model files, each with its own server.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("authz-startup-").FullName;

    [Fact]
    public void Build_SchemaWithError_FailsNamingLineAndColumn()
    {
        var schema = Write("bad.zed", "definition user {}\n\ndefinition doc {\n    relation viewer: usr\n}\n");
        var logs = new LogCapture();

        var error = Assert.Throws<ModelLoadException>(() => ServerFixture.BuildServer(logs, Settings(schema, relationships: "")));

        Assert.Contains($"{schema}:4:", error.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Since(0), e => e.Level == LogLevel.Critical && e.EventId.Name == "ModelLoadFailed");
    }

    [Fact]
    public void Build_MalformedRelationshipLine_FailsNamingTheLine()
    {
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n");
        var relationships = Write("bad.relationships", "// demo\ndoc:1#viewer@user:alice\n\ndoc:2#viewer@user alice\n");

        var error = Assert.Throws<ModelLoadException>(() => ServerFixture.BuildServer(new LogCapture(), Settings(schema, relationships)));

        Assert.Contains($"{relationships}:4:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_RelationshipNotInSchema_FailsNamingTheRelationship()
    {
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n");
        var relationships = Write("bad.relationships", "doc:1#editor@user:alice\n");

        var error = Assert.Throws<ModelLoadException>(() => ServerFixture.BuildServer(new LogCapture(), Settings(schema, relationships)));

        Assert.Contains("doc:1#editor@user:alice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_MissingSchemaFile_FailsNamingThePath()
    {
        var missing = Path.Combine(_directory, "missing.zed");

        var error = Assert.Throws<ModelLoadException>(() => ServerFixture.BuildServer(new LogCapture(), Settings(missing, "")));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_InvalidBatchLimit_FailsNamingTheOption()
    {
        var schema = Write("ok.zed", "definition user {}\n");
        var settings = Settings(schema, "");
        settings["Authz:MaxBatchCheckItems"] = "0";

        var error = Assert.Throws<ModelLoadException>(() => ServerFixture.BuildServer(new LogCapture(), settings));

        Assert.Contains("MaxBatchCheckItems", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithoutRelationshipsFile_ServesAnEmptyModel()
    {
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission view = viewer\n}\n");
        var logs = new LogCapture();
        await using var app = ServerFixture.BuildServer(logs, Settings(schema, ""));
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress(app.Urls.Single());

        var response = await new AuthorizationService.AuthorizationServiceClient(channel).CheckAsync(Check("user:alice", "view", "doc:1"));

        Assert.Equal(Decision.Denied, response.Decision);
        Assert.Equal("0", response.Revision);
        Assert.Contains(logs.Since(0), e => e.EventId.Name == "NoRelationshipsFile");
        Assert.Empty(logs.ErrorsSince(0));
        await app.StopAsync();
    }

    /// <inheritdoc/>
    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static Dictionary<string, string?> Settings(string schema, string relationships) => new()
    {
        ["Authz:SchemaFile"] = schema,
        ["Authz:RelationshipsFile"] = relationships,
    };

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
