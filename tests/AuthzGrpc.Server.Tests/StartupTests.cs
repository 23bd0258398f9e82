using AuthzGrpc.Server.Hosting;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Microsoft.Extensions.Logging;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>Starting the server on other model files, each with its own server.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("authz-startup-").FullName;

    [Fact]
    public async Task Build_SchemaWithError_FailsNamingLineAndColumn()
    {
        var schema = Write("bad.zed", "definition user {}\n\ndefinition doc {\n    relation viewer: usr\n}\n");
        var logs = new LogCapture();

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(logs, Settings(schema, relationships: "")));

        Assert.Contains($"{schema}:4:", error.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Since(0), e => e.Level == LogLevel.Critical && e.EventId.Name == "ModelLoadFailed");
    }

    [Fact]
    public async Task Build_MalformedRelationshipLine_FailsNamingTheLine()
    {
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n");
        var relationships = Write("bad.relationships", "// demo\ndoc:1#viewer@user:alice\n\ndoc:2#viewer@user alice\n");

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), Settings(schema, relationships)));

        Assert.Contains($"{relationships}:4:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_RelationshipNotInSchema_FailsNamingTheRelationship()
    {
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n");
        var relationships = Write("bad.relationships", "doc:1#editor@user:alice\n");

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), Settings(schema, relationships)));

        Assert.Contains("doc:1#editor@user:alice", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("doc:x#editor@user:alice", "doc:x#editor@user:alice")]   // fits no relation of the schema
    [InlineData("doc:x#viewer@user alice", "user alice")]                // does not parse
    public async Task Build_BadLinePastTheFirstBatches_FailsNamingPathAndLine_AndStoresNothing(string badLine, string named)
    {
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n");
        var good = Enumerable.Range(0, (2 * AuthzGrpc.Storage.ModelStore.SeedBatchSize) + 500)
            .Select(i => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"doc:{i}#viewer@user:u{i % 100}"));
        var relationships = Write("deep.relationships", string.Join('\n', ["// a comment on line 1", .. good, badLine, "doc:last#viewer@user:u1"]) + "\n");
        var badLineNumber = (2 * AuthzGrpc.Storage.ModelStore.SeedBatchSize) + 502;
        var settings = Settings(schema, relationships);

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains($"{relationships}:{badLineNumber}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        await using var store = AuthzGrpc.Storage.AuthzStore.Create(AuthzGrpc.Storage.StorageProvider.Sqlite, settings["Authz:Storage:ConnectionString"]!);
        var stored = await store.Model.LoadAsync();
        Assert.Null(stored.SchemaText);
        Assert.Empty(stored.Relationships);
        Assert.Equal(0, stored.Revision);
    }

    [Theory]
    [InlineData("definition user {}\ndefinition doc {\n    relation editor: user\n}\n", "does not fit the stored schema", "doc:1#viewer@user:alice")]
    [InlineData("definition doc {\n    relation viewer: nobody\n}\n", "does not compile", "nobody")]
    public async Task Restart_OnStoredModelThatDoesNotLoad_FailsNamingWhatDoesNot(string storedSchema, string reason, string named)
    {
        // A database seeded by a first start, whose stored schema is then replaced behind the server's back.
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n}\n");
        var relationships = Write("ok.relationships", "doc:1#viewer@user:alice\n");
        var settings = Settings(schema, relationships);
        await using (var first = await ServerFixture.BuildServerAsync(new LogCapture(), settings))
        {
        }

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(settings["Authz:Storage:ConnectionString"]))
        {
            connection.Open();
            using var update = connection.CreateCommand();
            update.CommandText = "UPDATE schema_versions SET text = $text";
            update.Parameters.AddWithValue("$text", storedSchema);
            Assert.Equal(1, update.ExecuteNonQuery());
        }

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_MissingSchemaFile_FailsNamingThePath()
    {
        var missing = Path.Combine(_directory, "missing.zed");

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), Settings(missing, "")));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_InvalidBatchLimit_FailsNamingTheOption()
    {
        var schema = Write("ok.zed", "definition user {}\n");
        var settings = Settings(schema, "");
        settings["Authz:MaxBatchCheckItems"] = "0";

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains("MaxBatchCheckItems", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100001")]
    public async Task Build_InvalidLookupLimit_FailsNamingTheOption(string value)
    {
        var schema = Write("ok.zed", "definition user {}\n");
        var settings = Settings(schema, "");
        settings["Authz:MaxLookupLimit"] = value;

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains("MaxLookupLimit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_UnknownStorageProvider_FailsNamingTheOption()
    {
        var schema = Write("ok.zed", "definition user {}\n");
        var settings = Settings(schema, "");
        settings["Authz:Storage:Provider"] = "oracle";

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains("Authz:Storage:Provider 'oracle'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_PostgresWithoutConnectionString_FailsNamingTheOption()
    {
        var schema = Write("ok.zed", "definition user {}\n");
        var settings = Settings(schema, "");
        settings["Authz:Storage:Provider"] = "postgres";
        settings["Authz:Storage:ConnectionString"] = "";

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains("Authz:Storage:ConnectionString is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_UnreachablePostgres_FailsWithoutEchoingThePassword()
    {
        var schema = Write("ok.zed", "definition user {}\n");
        var settings = Settings(schema, "");
        settings["Authz:Storage:Provider"] = "postgres";
        // A port nothing listens on (closed at once), so the failure is quick.
        settings["Authz:Storage:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=u;Password=s3cret;Database=authz;Timeout=2";

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains("cannot open the Postgres storage at 127.0.0.1:1/authz", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_SqliteFileInAFolderThatCannotBeCreated_FailsNamingThePath()
    {
        var schema = Write("ok.zed", "definition user {}\n");
        var blocker = Write("not-a-folder", "a file where the data folder should be");
        var settings = Settings(schema, "");
        settings["Authz:Storage:ConnectionString"] = $"Data Source={Path.Combine(blocker, "authz.db")}";

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => ServerFixture.BuildServerAsync(new LogCapture(), settings));

        Assert.Contains("Authz:Storage:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithoutRelationshipsFile_ServesAnEmptyModel()
    {
        var schema = Write("ok.zed", "definition user {}\ndefinition doc {\n    relation viewer: user\n    permission view = viewer\n}\n");
        var logs = new LogCapture();
        await using var app = await ServerFixture.BuildServerAsync(logs, Settings(schema, ""));
        await app.StartAsync();
        using var channel = TestKeys.Channel(new Uri(app.Urls.Single()), TestKeys.Admin);

        var response = await new AuthorizationService.AuthorizationServiceClient(channel).CheckAsync(Check("user:alice", "view", "doc:1"));

        Assert.Equal(Decision.Denied, response.Decision);
        Assert.Equal("1", response.Revision);
        Assert.Contains(logs.Since(0), e => e.EventId.Name == "NoRelationshipsFile");
        Assert.Empty(logs.ErrorsSince(0));
        await app.StopAsync();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private Dictionary<string, string?> Settings(string schema, string relationships) => new()
    {
        ["Authz:SchemaFile"] = schema,
        ["Authz:RelationshipsFile"] = relationships,
        ["Authz:Storage:ConnectionString"] = $"Data Source={Path.Combine(_directory, "data", "authz.db")}",
    };

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
