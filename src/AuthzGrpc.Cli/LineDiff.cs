using System.Globalization;
using System.Text;

namespace AuthzGrpc.Cli;

/// <summary>A unified diff of two texts, line by line (as <c>diff -u</c> prints it, with 3 lines of context).</summary>
internal static class LineDiff
{
    // The lines between the common head and tail are compared by longest common subsequence; past this many cells
    // (e.g. 2,000 x 2,000 changed lines) they are printed as all removed then all added: still a correct diff.
    private const long MaxCells = 4_000_000;
    private const int Context = 3;

    /// <summary>The lines of a text: line endings normalized, one final newline ignored.</summary>
    public static string[] Lines(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normalized = text.ReplaceLineEndings("\n");
        normalized = normalized.EndsWith('\n') ? normalized[..^1] : normalized;
        return normalized.Length == 0 ? [] : normalized.Split('\n');
    }

    /// <summary>The unified diff from <paramref name="before"/> to <paramref name="after"/>; empty when their lines are equal.</summary>
    public static string Unified(string before, string after, string beforeName, string afterName)
    {
        var (a, b) = (Lines(before), Lines(after));
        var edits = Edits(a, b);
        if (edits.All(e => e.Op == ' '))
        {
            return string.Empty;
        }

        var text = new StringBuilder().Append("--- ").Append(beforeName).Append('\n').Append("+++ ").Append(afterName).Append('\n');
        var changed = edits.Select((e, i) => (e, i)).Where(x => x.e.Op != ' ').Select(x => x.i).ToList();
        var hunkStart = 0;
        while (hunkStart < changed.Count)
        {
            // A hunk: changes at most 2 x Context unchanged lines apart share one.
            var hunkEnd = hunkStart;
            while (hunkEnd + 1 < changed.Count && changed[hunkEnd + 1] - changed[hunkEnd] - 1 <= 2 * Context)
            {
                hunkEnd++;
            }

            var (from, to) = (Math.Max(0, changed[hunkStart] - Context), Math.Min(edits.Count - 1, changed[hunkEnd] + Context));
            var hunk = edits.GetRange(from, to - from + 1);
            var aStart = edits.Take(from).Count(e => e.Op != '+');
            var bStart = edits.Take(from).Count(e => e.Op != '-');
            var (aCount, bCount) = (hunk.Count(e => e.Op != '+'), hunk.Count(e => e.Op != '-'));
            text.Append(CultureInfo.InvariantCulture, $"@@ -{Range(aStart, aCount)} +{Range(bStart, bCount)} @@\n");
            foreach (var (op, line) in hunk)
            {
                text.Append(op).Append(line).Append('\n');
            }

            hunkStart = hunkEnd + 1;
        }

        return text.ToString();
    }

    // diff -u's ranges: 1-based start and count; an empty range names the line before it.
    private static string Range(int start, int count) =>
        count == 1 ? (start + 1).ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{(count == 0 ? start : start + 1)},{count}");

    // The edit script: ' ' kept, '-' only in a, '+' only in b, in order.
    private static List<(char Op, string Line)> Edits(string[] a, string[] b)
    {
        var head = 0;
        while (head < a.Length && head < b.Length && a[head] == b[head])
        {
            head++;
        }

        var tail = 0;
        while (tail < a.Length - head && tail < b.Length - head && a[^(tail + 1)] == b[^(tail + 1)])
        {
            tail++;
        }

        var edits = a.Take(head).Select(l => (' ', l)).ToList();
        var (middleA, middleB) = (a[head..^tail], b[head..^tail]);
        if ((long)middleA.Length * middleB.Length > MaxCells)
        {
            edits.AddRange(middleA.Select(l => ('-', l)));
            edits.AddRange(middleB.Select(l => ('+', l)));
        }
        else
        {
            edits.AddRange(Lcs(middleA, middleB));
        }

        edits.AddRange(a[^tail..].Select(l => (' ', l)));
        return edits;
    }

    private static List<(char, string)> Lcs(string[] a, string[] b)
    {
        // common[i, j]: the length of the longest common subsequence of a[i..] and b[j..].
        var common = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                common[i, j] = a[i] == b[j] ? common[i + 1, j + 1] + 1 : Math.Max(common[i + 1, j], common[i, j + 1]);
            }
        }

        var edits = new List<(char, string)>(a.Length + b.Length);
        var (x, y) = (0, 0);
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                edits.Add((' ', a[x++]));
                y++;
            }
            else if (x < a.Length && (y == b.Length || common[x + 1, y] >= common[x, y + 1]))
            {
                // Removals first, as diff prints a changed line.
                edits.Add(('-', a[x++]));
            }
            else
            {
                edits.Add(('+', b[y++]));
            }
        }

        return edits;
    }
}
