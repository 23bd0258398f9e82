using System.Text.Json;

namespace AuthzGrpc.Cli.Tests;

/// <summary><c>authzctl schema read|write|diff|validate</c> against a real server of its own (the tests write the schema).</summary>
public sealed class SchemaCommandTests(AdminServer server) : IClassFixture<AdminServer>, IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("authzctl-schema-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task ReadDiffWrite_ARoundOfChanges()
    {
        var read = await server.Run("schema", "read");
        Assert.Equal(0, read.Exit);
        Assert.Contains("definition user", read.Output, StringComparison.Ordinal);
        var file = Path.Combine(_folder.FullName, "schema.zed");
        await File.WriteAllTextAsync(file, read.Output);

        var same = await server.Run("schema", "diff", file);
        Assert.Equal((0, string.Empty), (same.Exit, same.Output));

        await File.AppendAllTextAsync(file, "\ndefinition widget {}\n");
        var different = await server.Run("schema", "diff", file);
        Assert.Equal(1, different.Exit);
        var lines = different.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("--- server (revision ", lines[0], StringComparison.Ordinal);
        Assert.Equal($"+++ {file}", lines[1]);
        Assert.StartsWith("@@ -", lines[2], StringComparison.Ordinal);
        Assert.Equal(["+", "+definition widget {}"], lines.Where(l => l.StartsWith('+') && !l.StartsWith("+++", StringComparison.Ordinal)).Select(l => l.TrimEnd()));
        var differentJson = await server.Run("schema", "diff", file, "-o", "json");
        using (var json = JsonDocument.Parse(differentJson.Output))
        {
            Assert.Equal(1, differentJson.Exit);
            Assert.False(json.RootElement.GetProperty("equal").GetBoolean());
            Assert.Contains("+definition widget {}", json.RootElement.GetProperty("diff").GetString(), StringComparison.Ordinal);
        }

        var write = await server.Run("schema", "write", file, "-o", "json");
        Assert.Equal(0, write.Exit);
        using (var json = JsonDocument.Parse(write.Output))
        {
            Assert.NotEqual("1", json.RootElement.GetProperty("revision").GetString());
        }

        Assert.Equal(0, (await server.Run("schema", "diff", file)).Exit);
        var readJson = await server.Run("schema", "read", "--output", "json");
        using (var json = JsonDocument.Parse(readJson.Output))
        {
            Assert.Contains("definition widget {}", json.RootElement.GetProperty("schema").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ACaveatedRelationship_ChecksConditional_NamingWhatToSupply_ThenDecidesWithTheContext()
    {
        // The schema in force plus a caveat and a type that uses it (nothing stored is orphaned).
        var schema = (await server.Run("schema", "read")).Output +
            "\ncaveat on_weekday(day string) {\n  day in [\"monday\", \"tuesday\", \"wednesday\", \"thursday\", \"friday\"]\n}\n" +
            "\ndefinition gate {\n  relation opener: user with on_weekday\n  permission open = opener\n}\n";
        var file = Path.Combine(_folder.FullName, "caveated.zed");
        await File.WriteAllTextAsync(file, schema);
        Assert.Equal(0, (await server.Run("schema", "write", file)).Exit);
        Assert.Equal(0, (await server.Run("relationship", "touch", "gate:front#opener@user:zoe[on_weekday]")).Exit);

        var unknown = await server.Run("check", "gate:front", "open", "user:zoe");
        var unknownJson = await server.Run("check", "gate:front", "open", "user:zoe", "-o", "json");
        var weekday = await server.Run("check", "gate:front", "open", "user:zoe", "--caveat-context", """{"day": "monday"}""");
        var weekend = await server.Run("check", "gate:front", "open", "user:zoe", "--caveat-context", """{"day": "sunday"}""");

        // Conditional is not an allow: the exit status is a denial's, and the answer says what to supply.
        Assert.Equal(1, unknown.Exit);
        Assert.StartsWith("CONDITIONAL (supply day in --caveat-context)", unknown.Output.Trim(), StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(unknownJson.Output))
        {
            Assert.Equal(1, unknownJson.Exit);
            Assert.Equal("DECISION_CONDITIONAL", json.RootElement.GetProperty("decision").GetString());
            Assert.Equal(["day"], json.RootElement.GetProperty("partialCaveatInfo").GetProperty("missingRequiredContext").EnumerateArray().Select(e => e.GetString()));
        }

        Assert.Equal(0, weekday.Exit);
        Assert.StartsWith("ALLOWED", weekday.Output.Trim(), StringComparison.Ordinal);
        Assert.Equal(1, weekend.Exit);
        Assert.StartsWith("DENIED", weekend.Output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_ASchemaThatDoesNotCompile_ExitsTwoNamingTheLine()
    {
        var file = Path.Combine(_folder.FullName, "broken.zed");
        await File.WriteAllTextAsync(file, "definition user {}\ndefinition doc { relation owner: nosuchtype }\n");

        var (exit, output, error) = await server.Run("schema", "write", file);

        Assert.Equal((2, string.Empty), (exit, output));
        Assert.StartsWith("InvalidArgument: schema: line 2", error, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Run("check", "application:storefront-web", "deploy", "user:olivia")).Exit);
    }

    [Fact]
    public async Task Write_AMissingFile_ExitsSix()
    {
        var (exit, _, error) = await server.Run("schema", "write", Path.Combine(_folder.FullName, "missing.zed"));

        Assert.Equal(6, exit);
        Assert.Contains("missing.zed", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_IsOffline_ZeroWhenItCompiles_OneWhenNot()
    {
        var good = Path.Combine(_folder.FullName, "good.zed");
        var bad = Path.Combine(_folder.FullName, "bad.zed");
        await File.WriteAllTextAsync(good, "definition user {}\ndefinition doc { relation owner: user\n permission view = owner }\n");
        await File.WriteAllTextAsync(bad, "definition doc { permission view = nosuch }\n");

        Assert.Equal(0, await AuthzCtl.RunAsync(["schema", "validate", good], TextWriter.Null, TextWriter.Null));
        Assert.Equal(1, await AuthzCtl.RunAsync(["schema", "validate", bad], TextWriter.Null, TextWriter.Null));
    }

    [Fact]
    public void LineDiff_IsUnified_WithContextAndRemovalsFirst()
    {
        var before = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        var after = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n";

        var diff = LineDiff.Unified(before, after, "old", "new");

        Assert.Equal("--- old\n+++ new\n@@ -1,10 +1,11 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n i\n j\n+k\n", diff);
        Assert.Equal(string.Empty, LineDiff.Unified("x\r\ny", "x\ny\n", "old", "new"));
        Assert.Equal("--- old\n+++ new\n@@ -1,2 +1 @@\n x\n-y\n", LineDiff.Unified("x\ny\n", "x\n", "old", "new"));
    }
}
