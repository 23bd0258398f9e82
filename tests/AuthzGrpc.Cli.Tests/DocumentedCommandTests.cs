using System.Text;
using AuthzGrpc.Testing;

namespace AuthzGrpc.Cli.Tests;

/// <summary>
/// Every <c>authzctl</c> command the docs show in a <c>```sh</c> block (README.md, docs/*.md) parses against authzctl's
/// command tree, so a renamed command or option fails here rather than in a reader's terminal. Synopsis lines, which
/// write alternatives and optional parts (<c>a | b</c>, <c>bash|zsh</c>, <c>[--limit N]</c>, <c>FILE...</c>), are grammar, not commands,
/// and are left out.
/// </summary>
public sealed class DocumentedCommandTests(AdminServer server) : IClassFixture<AdminServer>
{
    // Commands that only read: a documented one of these, without a server of its own, runs against the test server.
    private static readonly string[][] ReadOnly = [["members"], ["resource", "get"], ["resource", "list"], ["check"], ["explain"], ["lookup-resources"], ["lookup-subjects"], ["schema", "read"]];

    public static TheoryData<string, string> DocumentedCommands()
    {
        var data = new TheoryData<string, string>();
        var files = Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Prepend(Path.Combine(Repository.Root, "README.md"));
        foreach (var file in files)
        {
            var inShell = false;
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith("```", StringComparison.Ordinal))
                {
                    inShell = !inShell && line.Trim() == "```sh";
                    continue;
                }

                var command = WithoutComment(line).Trim();
                if (inShell && command.StartsWith("authzctl ", StringComparison.Ordinal) && !IsSynopsis(command))
                {
                    data.Add(Path.GetRelativePath(Repository.Root, file), command);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedCommands))]
    public void DocumentedCommand_Parses(string file, string command)
    {
        var root = AuthzCtl.CreateRoot(TextWriter.Null, TextWriter.Null, Path.GetTempPath(), _ => null);

        var parsed = root.Parse(Words(command)[1..]);

        Assert.True(parsed.Errors.Count == 0, $"{file}: {command}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
    }

    // The documented commands that only read and name no server of their own.
    public static TheoryData<string, string> DocumentedReadOnlyCommands()
    {
        var data = new TheoryData<string, string>();
        foreach (var row in DocumentedCommands())
        {
            var (file, command) = ((string)row[0], (string)row[1]);
            var words = Words(command)[1..];
            if (ReadOnly.Any(prefix => words.Take(prefix.Length).SequenceEqual(prefix)) && !words.Contains("--server"))
            {
                data.Add(file, command);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedReadOnlyCommands))]
    public async Task DocumentedReadOnlyCommand_RunsAgainstTheDefaultData(string file, string command)
    {
        var (exit, _, error) = await server.Run(Words(command)[1..]);

        // check and explain answer 1 for a denial; anything else is a failure.
        Assert.True(exit is 0 or 1, $"{file}: {command}: exit {exit}: {error}");
    }

    [Fact]
    public void TheDocs_ShowCommands()
    {
        // The extraction must keep finding the examples (README's members section alone has over ten).
        Assert.True(DocumentedCommands().Count >= 15, $"only {DocumentedCommands().Count} documented commands found");
        Assert.True(DocumentedReadOnlyCommands().Count >= 4, $"only {DocumentedReadOnlyCommands().Count} documented read-only commands found");
    }

    private static bool IsSynopsis(string command) =>
        command.Contains('|', StringComparison.Ordinal) || command.Contains('[', StringComparison.Ordinal) || command.Contains("...", StringComparison.Ordinal);

    // A '#' starts a comment only after whitespace and outside quotes ('project:web#viewer@user:ana' is an argument).
    private static string WithoutComment(string line)
    {
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '#' && i > 0 && char.IsWhiteSpace(line[i - 1]))
            {
                return line[..i];
            }
        }

        return line;
    }

    // The shell's words: split at unquoted whitespace, quotes removed ('' is an empty word).
    private static string[] Words(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var (quote, inWord) = ('\0', false);
        foreach (var c in command)
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                (quote, inWord) = (c, true);
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return [.. words];
    }
}
