using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using AuthzGrpc.Testing;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// The committed bundle (<c>src/AuthzGrpc.Console/wwwroot/console.js</c>) against what it was built from: its first line
/// records the SHA-256 of the protos, of the console's inputs and of the models (<c>wwwroot/models.json</c> is built from
/// them), computed by <c>build.mjs</c> as here, so a change to any of them without <c>npm run build</c> fails here
/// rather than shipping a console that speaks an older API or offers older models.
/// </summary>
public sealed partial class ConsoleBundleTests
{
    // The console's build inputs beside its src/ folder.
    private static readonly string[] Inputs = ["build.mjs", "buf.gen.yaml", "package-lock.json", "tsconfig.json"];

    private static readonly string Console = Path.Combine(Repository.Root, "src", "AuthzGrpc.Console");

    [Fact]
    public void Bundle_WasBuiltFromTheseProtos()
    {
        var recorded = Recorded("protos-sha256");

        var protos = Files(Path.Combine(Repository.Root, "protos"), path => path.EndsWith(".proto", StringComparison.Ordinal));

        Assert.True(protos.Count >= 7, $"only {protos.Count} protos found");
        Assert.True(recorded == Digest(protos),
            "src/AuthzGrpc.Console/wwwroot/console.js was built from other protos: run `npm ci && npm run build` in src/AuthzGrpc.Console and commit the bundle");
    }

    [Fact]
    public void Bundle_WasBuiltFromTheseSources()
    {
        var recorded = Recorded("sources-sha256");

        var sources = Files(Path.Combine(Console, "src"), path => path.EndsWith(".ts", StringComparison.Ordinal) && !path.StartsWith("src/AuthzGrpc.Console/src/gen/", StringComparison.Ordinal))
            .Concat(Inputs.Select(name => "src/AuthzGrpc.Console/" + name))
            .ToList();

        Assert.Contains("src/AuthzGrpc.Console/src/main.ts", sources);
        Assert.True(recorded == Digest(sources),
            "src/AuthzGrpc.Console/wwwroot/console.js is older than the console's sources: run `npm ci && npm run build` in src/AuthzGrpc.Console and commit the bundle");
    }

    [Fact]
    public void ModelsJson_WasBuiltFromTheseModels()
    {
        var recorded = Recorded("models-sha256");

        var models = Files(Path.Combine(Repository.Root, "models"), path => path.EndsWith(".yaml", StringComparison.Ordinal) || path.EndsWith(".zed", StringComparison.Ordinal));

        Assert.Contains("models/default.yaml", models);
        Assert.True(recorded == Digest(models),
            "src/AuthzGrpc.Console/wwwroot/models.json was built from other models: run `npm ci && npm run build` in src/AuthzGrpc.Console and commit it");
    }

    private static string Recorded(string name)
    {
        var first = File.ReadLines(Path.Combine(Console, "wwwroot", "console.js")).First();
        var match = Regex.Match(first, name + "=([0-9a-f]{64})");
        Assert.True(match.Success, $"the bundle's first line records no {name}: {first}");
        return match.Groups[1].Value;
    }

    // Repository-relative paths with '/', ordinal order, as build.mjs lists them.
    private static List<string> Files(string folder, Func<string, bool> keep) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Repository.Root, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(keep)
            .Order(StringComparer.Ordinal)
            .ToList();

    // SHA-256 (hex) of "path\ncontent\n" for each file, line endings as \n: build.mjs's digest.
    private static string Digest(IEnumerable<string> paths)
    {
        var text = new StringBuilder();
        foreach (var path in paths)
        {
            text.Append(path).Append('\n')
                .Append(File.ReadAllText(Path.Combine(Repository.Root, path)).Replace("\r", "", StringComparison.Ordinal)).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
