namespace AuthzGrpc.Cli.Tests;

/// <summary><c>authzctl validate</c>: the validation files a user writes for a model, run from the command line.</summary>
public sealed class ValidateCommandTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("authzctl-");

    public void Dispose() => _directory.Delete(recursive: true);

    private static async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AuthzCtl.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Validate_ShippedModels_AllPass()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "models"), "*.yaml");

        var (exit, output, error) = await Run(["validate", .. files]);

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        Assert.Equal(files.Length, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(": ok (", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Validate_FailingAssertion_ExitsOneAndExplains()
    {
        var file = Write("team.yaml", """
            schema: |
              definition user {}
              definition team {
                  relation member: user
              }
            relationships: |
              team:a#member@user:ann
            assertions:
              assertTrue:
                - team:a#member@user:bob
            """);

        var (exit, output, error) = await Run("validate", file);

        Assert.Equal(1, exit);
        Assert.Contains("1 failed (1 assertions, 0 management cases)", output, StringComparison.Ordinal);
        Assert.Contains("assertTrue team:a#member@user:bob failed", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_SchemaError_ExitsOneNamingLineAndColumn()
    {
        var file = Write("broken.yaml", "schema: |\n  definition user {}\n  definition team {\n      relation member: usr\n  }\n");

        var (exit, _, error) = await Run("validate", file);

        Assert.Equal(1, exit);
        Assert.Contains("schema line 3, column 22: relation 'team#member' allows subject type 'usr'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_SpiceDbValidationFiles_PassUnchanged_WithTheirValidationBlocks()
    {
        var files = Directory.GetFiles(Path.Combine(AuthzGrpc.Testing.Repository.Root, "models", "spicedb"), "*.yaml");

        var (exit, output, error) = await Run(["validate", .. files]);

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        Assert.True(files.Length >= 3, "the SpiceDB examples are in models/spicedb");
        foreach (var file in files)
        {
            // Expected subjects are not checked under a schema with caveats: that file asserts checks only.
            Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(file)}: ok \(\d+ assertions, 0 management cases(, \d+ expected subject lists)?\)", output);
        }
    }

    [Fact]
    public async Task Validate_SpiceDbValidationBlock_ThatDiffers_ExitsOne_NamingLineAndColumn()
    {
        var file = Write("docs.yaml", """
            schema: |-
              definition user {}
              definition document {
                  relation reader: user
                  permission view = reader
              }
            relationships: |-
              document:d#reader@user:tom
              document:d#reader@user:fred
            validation:
              document:d#view:
                - "[user:tom] is <document:d#reader>"
            """);

        var (exit, output, error) = await Run("validate", file);

        Assert.Equal(1, exit);
        Assert.Contains("1 failed (0 assertions, 0 management cases, 1 expected subject lists)", output, StringComparison.Ordinal);
        Assert.Contains("validation, line 11, column 3: for document:d#view, subject [user:fred] is found (through <document:d#reader>) but not listed", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_BareSchemaFile_CompilesIt_AndNamesLineAndColumnOfAnError()
    {
        var good = Write("good.zed", "definition user {}\ndefinition team {\n    relation member: user\n}\n");
        var broken = Write("broken.zed", "definition user {}\ndefinition team {\n    relation member: usr\n}\n");

        var (exit, output, error) = await Run("validate", good, broken);

        Assert.Equal(1, exit);
        Assert.Contains($"{good}: ok (0 assertions, 0 management cases)", output, StringComparison.Ordinal);
        Assert.Contains($"{broken}: schema line 3, column 22: relation 'team#member' allows subject type 'usr'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_MissingFile_ExitsOne()
    {
        var (exit, _, error) = await Run("validate", Path.Combine(_directory.FullName, "missing.yaml"));

        Assert.Equal(1, exit);
        Assert.Contains("missing.yaml", error, StringComparison.Ordinal);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }
}
