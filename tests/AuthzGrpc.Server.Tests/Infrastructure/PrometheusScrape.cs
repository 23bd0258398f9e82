using System.Globalization;
using System.Text;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>One sample of the Prometheus text format: <c>name{label="value",...} value</c>.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A scrape of a metrics endpoint over HTTP/1.1, as Prometheus does it, parsed into samples.</summary>
public sealed class PrometheusScrape
{
    private PrometheusScrape(string text)
    {
        Text = text;
        Samples = [.. text.Split('\n').Where(line => line.Length > 0 && line[0] != '#').Select(ParseSample)];
    }

    /// <summary>The exposition as served.</summary>
    public string Text { get; }

    /// <summary>Every sample in it.</summary>
    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>Scrapes <c>/metrics</c> under <paramref name="metricsAddress"/>; fails unless the answer is 200.</summary>
    public static async Task<PrometheusScrape> GetAsync(Uri metricsAddress)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(metricsAddress, "/metrics"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /metrics answered {(int)response.StatusCode}: {text}");
        Assert.Equal(new Version(1, 1), response.Version);
        return new PrometheusScrape(text);
    }

    /// <summary>The samples named <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public IReadOnlyList<PrometheusSample> Find(string name, params (string Label, string Value)[] labels) =>
        [.. Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value))];

    /// <summary>The value of the one sample <see cref="Find"/> finds; fails, showing the scrape, when there is not exactly one.</summary>
    public double Value(string name, params (string Label, string Value)[] labels)
    {
        var found = Find(name, labels);
        Assert.True(found.Count == 1, $"{found.Count} samples of {name} with {string.Join(",", labels)} in:\n{Text}");
        return found[0].Value;
    }

    private static PrometheusSample ParseSample(string line)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var nameEnd = line.IndexOfAny(['{', ' ']);
        var name = line[..nameEnd];
        var position = nameEnd;
        if (line[position] == '{')
        {
            position++;
            while (line[position] != '}')
            {
                var equals = line.IndexOf('=', position);
                var label = line[position..equals];
                var value = new StringBuilder();
                position = equals + 2; // past ="
                while (line[position] != '"')
                {
                    if (line[position] == '\\')
                    {
                        position++;
                        value.Append(line[position] == 'n' ? '\n' : line[position]);
                    }
                    else
                    {
                        value.Append(line[position]);
                    }

                    position++;
                }

                labels[label] = value.ToString();
                position++; // past the closing quote
                if (line[position] == ',')
                {
                    position++;
                }
            }

            position++; // past }
        }

        // The value, then an optional timestamp.
        var fields = line[position..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new PrometheusSample(name, labels, ParseNumber(fields[0]));
    }

    /// <summary>A number as the format writes it, <c>+Inf</c> included.</summary>
    public static double ParseNumber(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
