using System.Text.Json;

namespace AuthzGrpc.Cli.Tests;

/// <summary><c>authzctl relationship ...</c> against a real server of its own (the tests write relationships).</summary>
public sealed class RelationshipCommandTests(AdminServer server) : IClassFixture<AdminServer>, IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-relationships-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task WriteTouchReadDelete()
    {
        const string Relationship = "project:storefront#viewer@user:rel_ana";

        var write = await server.Run("relationship", "write", Relationship);
        var again = await server.Run("relationship", "write", Relationship);
        var touch = await server.Run("relationship", "touch", Relationship, "-o", "json");
        var read = await server.Run("relationship", "read", "project:storefront", "viewer", "user:rel_ana");
        var readJson = await server.Run("relationship", "read", "project", "viewer", "user:rel_ana", "-o", "json", "--consistency", "full");

        Assert.Equal(0, write.Exit);
        Assert.StartsWith("write of 1 at revision ", write.Output, StringComparison.Ordinal);
        Assert.Equal(4, again.Exit);
        Assert.StartsWith("AlreadyExists: ", again.Error, StringComparison.Ordinal);
        Assert.Equal(0, touch.Exit);
        using (var json = JsonDocument.Parse(touch.Output))
        {
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("revision").GetString()));
        }

        Assert.Equal((0, Relationship), (read.Exit, read.Output.Trim()));
        using (var json = JsonDocument.Parse(readJson.Output.Trim()))
        {
            Assert.Equal("storefront", json.RootElement.GetProperty("relationship").GetProperty("resource").GetProperty("id").GetString());
            Assert.Equal("rel_ana", json.RootElement.GetProperty("relationship").GetProperty("subject").GetProperty("object").GetProperty("id").GetString());
        }

        Assert.Equal(0, (await server.Run("check", "project:storefront", "view", "user:rel_ana")).Exit);
        Assert.Equal(0, (await server.Run("relationship", "delete", Relationship)).Exit);
        var readDeleted = await server.Run("relationship", "read", "project:storefront", "viewer", "user:rel_ana");
        Assert.Equal((0, "no relationships found"), (readDeleted.Exit, readDeleted.Output.Trim()));
        Assert.Equal(1, (await server.Run("check", "project:storefront", "view", "user:rel_ana")).Exit);
    }

    [Fact]
    public async Task Write_WithAnExpiration_KeepsIt_AndReadShowsIt_AsSpiceDbWritesIt()
    {
        // The schema in force, plus a type whose grants expire ('use expiration' may stand before any definition).
        var schema = Path.Combine(_folder.FullName, "expiring.zed");
        var current = await server.Run("schema", "read");
        await File.WriteAllTextAsync(schema, current.Output + "\nuse expiration\ndefinition pass {\n    relation holder: user with expiration\n}\n");
        Assert.Equal(0, (await server.Run("schema", "write", schema)).Exit);
        const string Relationship = "pass:gate#holder@user:rel_cy[expiration:2300-01-01T00:00:00Z]";

        var write = await server.Run("relationship", "write", Relationship);
        var read = await server.Run("relationship", "read", "pass:gate", "holder");

        Assert.Equal(0, write.Exit);
        Assert.Equal((0, Relationship), (read.Exit, read.Output.Trim()));
        Assert.Equal(0, (await server.Run("check", "pass:gate", "holder", "user:rel_cy")).Exit);
        var permanent = await server.Run("relationship", "write", "pass:gate#holder@user:rel_dee");
        Assert.Equal(2, permanent.Exit);
        Assert.Contains("does not allow subjects of type 'user'", permanent.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_AMalformedRelationship_ExitsTwo_AndWritesNothing()
    {
        var (exit, _, error) = await server.Run("relationship", "write", "project:storefront#viewer@user:rel_bo", "project:storefront@user:rel_bo");

        Assert.Equal(2, exit);
        Assert.Contains("is not a relationship", error, StringComparison.Ordinal);
        Assert.Equal("no relationships found", (await server.Run("relationship", "read", "project", "viewer", "user:rel_bo")).Output.Trim());
    }

    [Theory]
    [InlineData("table")]
    [InlineData("json")]
    public async Task Export_ThenImport_IsIdempotent_InBatches(string format)
    {
        var file = Path.Combine(_folder.FullName, $"export.{format}");

        var export = await server.Run("relationship", "export", file, "-o", format);
        var lines = (await File.ReadAllLinesAsync(file)).Where(l => l.Length > 0).ToList();
        var import = await server.Run("relationship", "import", file, "--batch-size", "7", "--progress", "-o", "json");

        Assert.Equal(0, export.Exit);
        Assert.True(lines.Count > 20, $"{lines.Count} relationships exported");
        Assert.All(lines, l => Assert.Equal(format == "json", l.StartsWith('{')));
        Assert.Equal(0, import.Exit);
        using var json = JsonDocument.Parse(import.Output);
        Assert.Equal(lines.Count, json.RootElement.GetProperty("imported").GetInt64());
        Assert.Equal((lines.Count + 6) / 7, json.RootElement.GetProperty("batches").GetInt32());
        Assert.Contains($"\rimported {lines.Count} relationships (100%)", import.Error, StringComparison.Ordinal);
        var again = await server.Run("relationship", "export", "-o", format);
        Assert.Equal(lines.Order(StringComparer.Ordinal), again.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Import_ABadLine_StopsThere_SayingWhatWasImported()
    {
        var file = Path.Combine(_folder.FullName, "bad.txt");
        await File.WriteAllLinesAsync(file, ["// a comment", "project:storefront#viewer@user:rel_cy", "", "project:storefront#viewer", "project:storefront#viewer@user:rel_di"]);

        var (exit, _, error) = await server.Run("relationship", "import", file, "--batch-size", "1");

        Assert.Equal(2, exit);
        Assert.Contains("line 4", error, StringComparison.Ordinal);
        Assert.Contains("after 1 relationships were imported", error, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Run("check", "project:storefront", "view", "user:rel_cy")).Exit);
        Assert.Equal(1, (await server.Run("check", "project:storefront", "view", "user:rel_di")).Exit);
    }
}
